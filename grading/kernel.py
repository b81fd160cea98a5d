"""The submission's kernel: runs a notebook's statements and answers the grader's calls.

Started by :mod:`grading.sandbox` as ``python -I -B kernel.py LIMITS`` in a scrubbed
environment and a temporary folder. It sets its own resource limits before any of the
submission's code runs, then answers messages (:mod:`grading.wire`) on the file
descriptors that were its stdin and stdout; the submission's prints go to /dev/null.

Messages: ``run`` (a cell's statements, each run on its own), ``describe`` (what names
are bound to, as data), ``call`` (call one of the submission's functions on arguments
sent by the grader; the grader's own callables are called back over the channel),
``snapshot`` and ``train`` (``lunar-grade --train``: the submission's lab code, as defined, in the
kit's loop), ``close``. Nothing here decides a verdict: the graded tests run in the grader.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import types
from typing import Any, Callable

GRADING = os.path.dirname(os.path.abspath(__file__))
LIMITS = {"memory": resource.RLIMIT_DATA, "cpu": resource.RLIMIT_CPU, "file_size": resource.RLIMIT_FSIZE,
          "processes": resource.RLIMIT_NPROC}


class CellTimeout(BaseException):
    """Raised in the running statement when a cell's time is up."""


def main() -> None:
    sys.path[:] = [os.path.join(GRADING, "compat"), os.path.dirname(GRADING)] + [
        p for p in sys.path[1:] if p not in ("", ".")]
    for name, value in json.loads(sys.argv[1]).items():
        resource.setrlimit(LIMITS[name], (int(value), int(value) + (5 if name == "cpu" else 0)))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a kernel ended by a limit leaves no core file
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the file-size limit raises instead of killing
    channel = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    import lunar_grade_kernel  # noqa: F401 - the kernel's library changes, from compat/
    from grading import wire

    kernel = Kernel(*channel)
    while True:
        message = wire.receive(kernel.inbox)
        if message.get("op") == "close":
            return
        wire.send(kernel.outbox, kernel.answer(message))


class Kernel:
    """The submission's namespace and the channel to the grader."""

    def __init__(self, inbox: int, outbox: int) -> None:
        self.inbox, self.outbox = inbox, outbox
        self.namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
        self.notes_sent = 0
        self.saved: dict[str, Any] = {}  # lunar-grade --train: the lab code's parts before the graded tests

    def answer(self, message: dict) -> dict:
        op = message.get("op")
        if op == "run":
            return self.run(message["statements"], float(message["timeout"]))
        if op == "describe":
            return {"values": {name: self.describe(name) for name in message["names"]}}
        if op == "call":
            return self.call(message)
        if op == "snapshot":
            return self.snapshot()
        if op == "train":
            return self.train(int(message["episodes"]), int(message["seed"]))
        return {"error": {"type": "ProtocolError", "message": f"unknown op {op!r}"}}

    def run(self, statements: list[str], timeout: float) -> dict:
        """Each statement on its own; the errors by statement index; the cell stops when its time is up."""
        errors = []
        signal.signal(signal.SIGALRM, _time_is_up)
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            for index, source in enumerate(statements):
                try:
                    exec(compile(source, f"<statement {index + 1}>", "exec"), self.namespace)  # noqa: S102
                except CellTimeout:
                    errors.append({"index": index, "type": "timeout", "message": ""})
                    break
                except BaseException as error:  # noqa: BLE001 - the submission may raise anything
                    errors.append({"index": index, **wire_module().error_data(error)})
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        return {"errors": errors, "notes": self.new_notes()}

    def new_notes(self) -> list[str]:
        compat = sys.modules.get("lunar_grade_kernel")
        notes = [str(n)[:300] for n in getattr(compat, "NOTES", [])]
        fresh, self.notes_sent = notes[self.notes_sent:], len(notes)
        return fresh

    def describe(self, name: str) -> Any:
        from grading import wire

        value: Any = self.namespace
        for part in name.split("."):
            holder = value
            if isinstance(holder, dict) and part in holder:
                value = holder[part]
            elif isinstance(holder, types.ModuleType) and hasattr(holder, part):
                value = getattr(holder, part)
            else:
                return {"$": "missing"}
        if isinstance(value, types.ModuleType):
            return {"$": "module", "name": value.__name__}
        described = self.special(value)
        if described is not None:
            return described
        if callable(value) and not isinstance(value, type):
            return {"$": "function", "own": getattr(value, "__module__", None) == "__main__"}
        return wire.encode(value)

    def call(self, message: dict) -> dict:
        from grading import mirror, wire

        by_value: dict[str, Any] = {}
        reply: dict[str, Any] = {}
        try:
            for name, weights in message.get("sync", {}).items():
                mirror.set_weights(self.namespace[name], weights)
            args = wire.decode(message["args"], lambda tagged: self.argument(tagged, by_value))
            kwargs = wire.decode(message["kwargs"], lambda tagged: self.argument(tagged, by_value))
            result = self.namespace[message["name"]](*args, **kwargs)
            reply["ok"] = wire.encode(result, self.special)
        except BaseException as error:  # noqa: BLE001 - the submission may raise anything
            reply["error"] = wire_module().error_data(error)
        try:
            reply["sync"] = {name: mirror.encoded_weights(self.namespace[name]) for name in message.get("sync", {})}
            reply["refs"] = {ref: mirror.encoded_weights(model) for ref, model in by_value.items()}
        except BaseException as error:  # noqa: BLE001
            reply = {"error": wire_module().error_data(error)}
        return reply

    def snapshot(self) -> dict:
        """``lunar-grade --train``, before the graded tests: keep the lab code's parts as defined."""
        from grading.kernel_training import snapshot

        try:
            self.saved = snapshot(self.namespace)
            return {}
        except BaseException as error:  # noqa: BLE001 - the submission's objects may raise anything
            return {"error": wire_module().error_data(error)}

    def train(self, episodes: int, seed: int) -> dict:
        """``lunar-grade --train``: the namespace's lab code in the kit's loop (:mod:`grading.kernel_training`)."""
        from grading import wire
        from grading.kernel_training import train_in_kernel

        try:
            return {"ok": wire.encode(train_in_kernel(self.namespace, self.saved, episodes, seed))}
        except BaseException as error:  # noqa: BLE001 - the submission's code may raise anything
            return {"error": wire_module().error_data(error)}

    def argument(self, tagged: dict, by_value: dict[str, Any]) -> Any:
        from grading import mirror

        tag = tagged["$"]
        if tag == "model":
            model = by_value[str(tagged["ref"])] = mirror.build_model(tagged)
            return model
        if tag == "global":
            return self.namespace[str(tagged["name"])]
        if tag == "callback":
            return self.callback(int(tagged["id"]))
        raise ValueError(f"an argument the kernel does not know: {tag}")

    def callback(self, ident: int) -> Callable[..., Any]:
        from grading import wire

        def grader_function(*args: Any, **kwargs: Any) -> Any:
            wire.send(self.outbox, {"callback": ident, "args": wire.encode(list(args), self.special),
                                    "kwargs": wire.encode(kwargs, self.special)})
            answer = wire.receive(self.inbox)
            if "error" in answer:
                raise wire_module().rebuilt_error(answer["error"])
            return wire.decode(answer["ok"])

        return grader_function

    @staticmethod
    def special(value: Any) -> dict | None:
        from grading import mirror

        if mirror.is_model(value):
            return mirror.describe_model(value)
        if mirror.is_optimizer(value):
            return mirror.describe_optimizer(value)
        module = str(getattr(type(value), "__module__", ""))
        if module.startswith(mirror.LEGACY_KERAS):  # TensorFlow's private Keras 2: named, never called
            return {"$": "object", "type": type(value).__name__, "module": module[:100]}
        return None


def wire_module() -> Any:
    """:mod:`grading.wire`, imported once :func:`main` has set the kernel's import path."""
    from grading import wire

    return wire


def _time_is_up(signum: int, frame: Any) -> None:
    raise CellTimeout()


if __name__ == "__main__":
    main()
