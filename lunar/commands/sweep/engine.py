"""Ray Tune as the engine: a local Ray instance by default, an existing cluster by address.

With :mod:`lunar.commands.sweep.runner` and :mod:`lunar.commands.sweep.tuning` (inside their functions), the only
modules of the kit that import ``ray``. Each trial asks for one CPU (and trains with one
TensorFlow thread), so Ray runs as many at once as the cluster has CPUs.
"""

from __future__ import annotations

import logging
import os
import socket
import warnings
from pathlib import Path
from typing import Any, Callable

from lunar.errors import UserError

INSTALL_HINT = 'pip install -e ".[sweep]"'


def import_ray() -> Any:
    """``ray`` with Tune, or a UserError saying how to install it."""
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # Tune's tables off: the driver prints its own lines
    try:
        import optuna  # noqa: F401 - lunar-tune's search; one extra installs both
        import ray
        from ray import tune  # noqa: F401
    except ImportError:
        raise UserError(f"sweeps and tuning need Ray Tune and Optuna: {INSTALL_HINT}") from None
    return ray


def check_address(address: str) -> None:
    """Refuse an address whose head does not answer (``ray.init`` would retry for minutes, and Ray Client
    warns on stderr before it fails)."""
    if address in ("auto", "local"):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not (port.isascii() and port.isdigit()) or not 1 <= int(port) <= 65_535:
        raise UserError(f"--address {address!r}: give HOST:PORT of the Ray head (e.g. 127.0.0.1:6379), "
                        "ray://HOST:PORT of its Ray Client server, or auto")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as error:
        raise UserError(f"no Ray cluster answers at {address}: {error.strerror or error}") from None


def connect(address: str | None, cpus: int | None) -> Any:
    """``ray.init`` on ``address`` (else ``RAY_ADDRESS``, else a new local instance with ``cpus``)."""
    ray = import_ray()
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address:
        check_address(address)
    if ray.is_initialized():
        return ray
    try:
        with warnings.catch_warnings():  # Ray Client's own warnings repeat the one line below
            warnings.simplefilter("ignore")
            ray.init(address=address, num_cpus=None if address else cpus, include_dashboard=False,
                     logging_level=logging.ERROR, log_to_driver=False, configure_logging=True)
    except ConnectionError as error:
        raise UserError(f"cannot reach a Ray cluster at {address}: {error}") from None
    return ray


def progress_callback(on_result: Callable[[dict, dict], None]) -> Any:
    """A Tune callback that hands each trial's reports, or its failure, to ``on_result(config, metrics)``."""
    from ray import tune

    class Progress(tune.Callback):
        def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
            on_result(trial.config, result)

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            on_result(trial.config, {"error": f"its worker failed (Ray's record: {trial.error_file})"})

    return Progress()


def run(trainable: Callable[[dict], None], param_space: dict, storage: Path, name: str,
        on_result: Callable[[dict, dict], None], tune_config: Any = None) -> Any:
    """Run ``trainable`` over ``param_space`` with one CPU per trial; ``on_result(config, metrics)``
    is called in the driver for every report. Returns Tune's ``ResultGrid``."""
    from ray import tune

    tuner = tune.Tuner(
        tune.with_resources(trainable, {"cpu": 1}),
        param_space=param_space,
        tune_config=tune_config or tune.TuneConfig(),
        run_config=tune.RunConfig(name=name, storage_path=str(Path(storage).resolve()), verbose=0,
                                  callbacks=[progress_callback(on_result)],
                                  failure_config=tune.FailureConfig(max_failures=0, fail_fast=False)))
    return tuner.fit()
