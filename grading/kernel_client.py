"""The grader's side of a submission's kernel: run cells, read names, call functions.

:class:`KernelClient` talks to :mod:`grading.kernel` over its pipes with a deadline on
every wait. :class:`RemoteFunction` stands for one of the submission's functions: calling
it sends the arguments as data, calls back the grader's own callables (the graded tests'
fixed networks) when the submission calls them, and returns the result as data, so the
graded test that calls it runs here, where the submission's code never runs.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, Callable

from grading import mirror, wire
from grading.wire import error_data, rebuilt_error
from grading.sandbox import Limits, as_nobody, startup_error, tasks_in_tree

GRACE_SECONDS = 5.0


class KernelStopped(Exception):
    """The kernel died, ran out of time or broke the protocol: one message says which."""


class KernelClient:
    def __init__(self, process: subprocess.Popen, limits: Limits, folder: Path | None = None) -> None:
        self.process, self.limits, self.folder = process, limits, folder
        self.inbox, self.outbox = process.stdout.fileno(), process.stdin.fileno()
        self.callbacks: list[Callable[..., Any]] = []
        self.stopped = ""

    # ------------------------------------------------------------ the channel
    def request(self, message: dict, seconds: float) -> dict:
        """Send ``message``; answer the kernel's callbacks until its reply; at most ``seconds``."""
        if self.stopped:
            raise KernelStopped(self.stopped)
        deadline = time.monotonic() + seconds
        try:
            wire.send(self.outbox, message)
            while True:
                reply = wire.receive(self.inbox, lambda: self._wait(deadline))
                if "callback" not in reply:
                    return reply
                wire.send(self.outbox, self._answer_callback(reply))
        except (OSError, EOFError, wire.ProtocolError, KernelStopped) as error:
            if isinstance(error, EOFError):  # the channel closes a moment before the process can be reaped
                try:
                    self.process.wait(timeout=GRACE_SECONDS)
                except subprocess.TimeoutExpired:
                    pass
            self.stop(self._why(error))
            raise KernelStopped(self.stopped) from None

    def _wait(self, deadline: float) -> None:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise KernelStopped("timeout")
            if select.select([self.inbox], [], [], min(left, 0.5))[0]:
                return
            if not as_nobody() and os.geteuid() == 0 and \
                    tasks_in_tree(self.process.pid) > self.limits.processes:
                raise KernelStopped("processes")

    def _why(self, error: BaseException) -> str:
        reason = str(error) if isinstance(error, KernelStopped) else ""
        code = self.process.poll()
        if code is not None and code > 128:  # bubblewrap exits with 128 + the signal that ended the kernel
            code = 128 - code
        if reason == "timeout":
            return "timeout"
        if reason == "processes":
            return f"it started more than {self.limits.processes} processes and threads (the process limit)"
        if code is not None and -code == signal.SIGXCPU:
            return f"it used its {self.limits.cpu_seconds} s of CPU time (the CPU-time limit)"
        if code is not None and -code == signal.SIGKILL:
            return f"the kernel was killed (the {self.limits.cpu_seconds} s CPU-time limit, or the system)"
        if code is not None and -code == signal.SIGXFSZ:
            return f"it wrote past the {self.limits.file_size_mb} MiB file-size limit"
        if code is not None:
            why = startup_error(self.folder) if self.folder is not None else ""
            return f"the kernel exited with code {code}" + (f" ({why})" if why else "")
        return f"the kernel broke the protocol ({type(error).__name__}: {error})"

    def _answer_callback(self, request: dict) -> dict:
        try:
            function = self.callbacks[int(request["callback"])]
            result = function(*wire.decode(request["args"], self._decode_special),
                              **wire.decode(request["kwargs"], self._decode_special))
            return {"ok": wire.encode(result)}
        except wire.ProtocolError:
            raise
        except Exception as error:  # noqa: BLE001 - the grader's fixed networks raise AssertionError
            return {"error": error_data(error)}

    def stop(self, reason: str = "closed") -> None:
        if not self.stopped:
            self.stopped = reason
        try:
            if self.process.poll() is None:
                wire.send(self.outbox, {"op": "close"})
                self.process.wait(timeout=0.2 if reason != "closed" else GRACE_SECONDS)
        except (OSError, subprocess.TimeoutExpired):
            pass
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except OSError:
                self.process.kill()
            self.process.wait()

    # ---------------------------------------------------------- the requests
    def run_cell(self, statements: list[str], seconds: float) -> dict:
        return self.request({"op": "run", "statements": statements, "timeout": seconds}, seconds + GRACE_SECONDS)

    def describe(self, names: list[str], seconds: float) -> dict[str, Any]:
        values = self.request({"op": "describe", "names": names}, seconds).get("values")
        if not isinstance(values, dict):
            raise KernelStopped("the kernel broke the protocol (describe)")
        return values

    def decode_value(self, tagged: Any) -> Any:
        return wire.decode(tagged, self._decode_special)

    def _decode_special(self, tagged: dict) -> Any:
        tag = tagged["$"]
        if tag == "model":
            return mirror.build_model(tagged)
        if tag == "optimizer":
            return mirror.build_optimizer(tagged)
        if tag == "class":
            return mirror.known_class(tagged)
        if tag in ("object", "function", "module"):
            return mirror.stand_in({"type": tagged.get("type", tag), **tagged})
        raise wire.ProtocolError(f"an unknown tag {tag!r}")


class RemoteFunction:
    """One of the submission's functions, called in its kernel.

    ``synced``: the grader's copies of the submission's networks (name -> Keras model) whose
    weights are sent before each call and read back after it, for functions such as
    ``agent_learn`` that train the notebook's own global networks.
    """

    def __init__(self, kernel: KernelClient, name: str, seconds: float, synced: dict[str, Any] | None = None):
        self.kernel, self.name, self.seconds = kernel, name, seconds
        self.synced = synced or {}
        self.__name__ = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        by_value: dict[str, Any] = {}
        special = lambda value: self._argument(value, by_value)  # noqa: E731
        message = {"op": "call", "name": self.name, "args": wire.encode(list(args), special),
                   "kwargs": wire.encode(kwargs, special),
                   "sync": {name: mirror.encoded_weights(model) for name, model in self.synced.items()}}
        reply = self.kernel.request(message, self.seconds)
        try:
            for name, weights in reply.get("sync", {}).items():
                mirror.set_weights(self.synced[name], weights)
            for ref, weights in reply.get("refs", {}).items():
                mirror.set_weights(by_value[ref], weights)
            result = None if "error" in reply else self.kernel.decode_value(reply["ok"])
        except (KeyError, TypeError, ValueError, AttributeError, wire.ProtocolError) as error:
            self.kernel.stop(f"the kernel broke the protocol ({type(error).__name__})")
            raise KernelStopped(self.kernel.stopped) from None
        if "error" in reply:
            raise rebuilt_error(reply["error"] if isinstance(reply["error"], dict) else {})
        return result

    def _argument(self, value: Any, by_value: dict[str, Any]) -> dict | None:
        for name, model in self.synced.items():
            if value is model:
                return {"$": "global", "name": name}
        if mirror.is_model(value):
            ref = str(len(by_value))
            by_value[ref] = value
            return {**mirror.describe_model(value), "ref": ref}
        if callable(value) and not isinstance(value, type):
            self.kernel.callbacks.append(value)
            return {"$": "callback", "id": len(self.kernel.callbacks) - 1}
        return None
