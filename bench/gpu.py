"""The kit on whatever devices TensorFlow sees: which device ran what, how fast, and a model that crosses devices.

    python bench/gpu.py                    # 20,000 steps of each preset; writes docs/gpu.md
    python bench/gpu.py --steps 2000 --output /tmp/gpu.md

On a GPU machine, run it as it is (``pip install -e ".[dev]"`` first; TensorFlow finds the GPU itself).
For the course preset and the fast preset it trains ``--steps`` environment steps with ``lunar.train``
(validation off, no files), timing each part (``bench/where_time_goes.py``), and records the device of
the Q-network's variables (where the compiled update runs) and of acting (numpy: always the CPU).
Then it saves the fast preset's network, loads it on every device TensorFlow lists, and scores it on 5
greedy episodes there: the same model must score the same everywhere. ``nvidia-smi``'s line is added where
it exists. The report goes to ``--output`` (atomically), and to the terminal.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.where_time_goes import time_parts  # noqa: E402

PRESETS = ("course", "fast")


def nvidia_smi() -> str:
    """``nvidia-smi``'s one line per GPU (name, driver, memory), or why there is none."""
    if shutil.which("nvidia-smi") is None:
        return "no nvidia-smi on this machine"
    done = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                          capture_output=True, text=True, timeout=60)
    return done.stdout.strip() or done.stderr.strip() or f"nvidia-smi exited {done.returncode}"


def preset_row(name: str, steps: int, folder: Path) -> tuple[list[str], object]:
    """A table row for one preset trained ``steps`` steps into ``folder``, and its trained Q-network (rebuilt
    from the run's last checkpoint on the default device, where the run's own variables lived)."""
    from lunar.agent import DQNAgent
    from lunar.config import DQNConfig, load_toml
    from lunar.run.checkpoint import latest_valid
    from lunar.run.state import load_agent_arrays

    config = DQNConfig(**load_toml(ROOT / "configs" / f"{name}.toml")).replace(validation_episodes=0)
    result, parts = time_parts(config, output_dir=folder / name, save_outputs=True, max_total_steps=steps)
    agent = DQNAgent.from_config(config, 8, 4)
    load_agent_arrays(agent, latest_valid(folder / name / "checkpoints").agent)
    wall = result.wall_seconds
    rate = {part: result.total_steps / seconds if seconds else float("inf") for part, seconds in parts.items()}
    return [name, f"{result.total_steps:,}", f"{wall:.1f}", f"{result.total_steps / wall:,.0f}",
            _short(agent.q_network.weights[0].value.device), "CPU (numpy)", f"{rate.get('update (learn calls)', 0):,.0f}",
            f"{rate.get('acting (numpy Q-values)', 0):,.0f}", f"{rate.get('environment steps', 0):,.0f}"], agent.q_network


def _short(device: str) -> str:
    return device.split("device:")[-1] if "device:" in device else device


def cross_device_scores(network: object) -> list[tuple[str, float]]:
    """The network saved, loaded on each device TensorFlow lists, scored on 5 greedy episodes there."""
    import keras
    import tensorflow as tf

    from lunar.reports.evaluation import evaluate
    from lunar.run.outputs import save_h5

    scores = []
    with tempfile.TemporaryDirectory() as folder:
        path = save_h5(network, Path(folder) / "model.h5")
        for device in tf.config.list_logical_devices():
            if device.device_type not in ("CPU", "GPU"):
                continue
            with tf.device(device.name):
                model = keras.models.load_model(path, compile=False)
                scores.append((_short(device.name), float(evaluate(model, episodes=5).returns.mean())))
    return scores


def report(steps: int) -> str:
    import tensorflow as tf

    devices = ", ".join(f"{d.device_type} {d.name}" for d in tf.config.list_physical_devices()) or "none"
    rows, network = [], None
    with tempfile.TemporaryDirectory() as folder:
        for name in PRESETS:
            row, network = preset_row(name, steps, Path(folder))
            rows.append(row)
    header = ["preset", "steps", "wall s", "steps/s", "update on", "acting on", "update: steps/s", "acting: steps/s",
              "environment: steps/s"]
    lines = [f"$ python bench/gpu.py --steps {steps}", "",
             f"{platform.platform()} | {os.cpu_count()} CPUs | Python {platform.python_version()} | "
             f"TensorFlow {tf.__version__}", f"devices TensorFlow sees: {devices}", f"nvidia-smi: {nvidia_smi()}", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    scores = cross_device_scores(network) if network is not None else []
    lines += ["", "The fast preset's network, saved once, loaded and scored (5 greedy episodes, seeds 0-4) on each device:",
              "", "| device | mean return |", "|---|---:|"] + [f"| {d} | {s:.2f} |" for d, s in scores]
    same = len({round(s, 4) for _, s in scores}) <= 1
    lines += ["", f"Same score on every device: {'yes' if same else 'NO'}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20_000, help="environment steps of each preset")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "gpu.md", help="where the report goes")
    args = parser.parse_args()
    from lunar.run.tfsetup import import_tensorflow_quietly

    import_tensorflow_quietly()
    from lunar.run.atomic import write_text

    text = report(args.steps)
    print(text)
    write_text(args.output, "# The kit on a GPU, and where it is not\n\n" + GUIDE + "\n## Figures\n\n" + text)


GUIDE = """Run `python bench/gpu.py` on the machine (after `pip install -e ".[dev]"`): it trains the course and
fast presets for 20,000 steps each on whatever devices TensorFlow sees, says which device ran the update
(the Q-network's variables) and acting (numpy, always the CPU), the steps per second of each part
(update, acting, environment: the run's steps divided by the seconds that part took, so the parts' rates
combine like resistors in series into the run's), `nvidia-smi`'s line,
and checks that the model saved on one device loads and scores the same on every other. It rewrites this file.
The figures below are the last run's; the machine is in their first lines.
"""


if __name__ == "__main__":
    main()
