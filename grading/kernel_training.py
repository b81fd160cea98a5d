"""What the submission's kernel runs for ``lunar-grade --train`` (:mod:`grading.kernel` calls it): the
lab code's parts kept as the notebook defined them, then trained in the kit's loop. The verdict on
what it sends back is the grader's, in its own process (:mod:`grading.learns`).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

PARTS = ("compute_loss", "q_network", "target_q_network", "optimizer")
COLUMNS = ("return", "steps", "epsilon", "loss", "mean_q")
"""The history columns the kernel sends back, one value per episode."""


def snapshot(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """In the kernel, before the graded tests (``test_agent_learn`` sets the networks' weights and
    steps the optimizer): the networks' weights and the optimizer's step count."""
    from grading import mirror

    saved: dict[str, Any] = {name: [np.array(w) for w in namespace[name].get_weights()]
                             for name in ("q_network", "target_q_network") if mirror.is_model(namespace.get(name))}
    if mirror.is_optimizer(namespace.get("optimizer")):
        saved["optimizer"] = int(np.asarray(namespace["optimizer"].iterations))
    return saved


def as_defined(namespace: Mapping[str, Any], saved: Mapping[str, Any]) -> dict[str, Any]:
    """The lab code's parts as the notebook defined them: the networks' weights of :func:`snapshot`
    put back, and an optimizer that has stepped since replaced by a fresh one of its configuration."""
    parts = {name: namespace.get(name) for name in PARTS}
    for name in ("q_network", "target_q_network"):
        if name in saved:
            parts[name].set_weights(saved[name])
    optimizer = parts["optimizer"]
    if "optimizer" in saved and int(np.asarray(optimizer.iterations)) != saved["optimizer"]:
        parts["optimizer"] = type(optimizer).from_config(optimizer.get_config())
    return parts


def train_in_kernel(namespace: Mapping[str, Any], saved: Mapping[str, Any], episodes: int,
                    seed: int) -> dict[str, Any]:
    """In the kernel: train the namespace's lab code, as defined (:func:`as_defined`), its networks
    in place; each episode's numbers."""
    from lunar.config import DQNConfig
    from lunar.run.lab_code import LabCode
    from lunar.training import train

    notes: list[str] = []

    class Notes:  # the kit's one-line notices (which update path ran, and why)
        start = episode = stop = lambda self, *args: None

        def message(self, text: str) -> None:
            notes.append(str(text)[:300])

    lab_code = LabCode(**as_defined(namespace, saved))
    result = train(DQNConfig(seed=seed, num_episodes=episodes), save_outputs=False, reporter=Notes(), lab_code=lab_code)
    return {"history": {name: result.history[name].to_numpy(np.float64) for name in COLUMNS},
            "status": result.status, "seconds": float(result.wall_seconds), "notes": notes[:10]}
