"""The shipped model's learning curve and symptoms, drawn by today's code from its shipped history.

    python bench/shipped_outputs.py

``models/`` holds what ``python train.py --seed 0`` wrote (the model, the history, the config); a
run's figures change when the kit's reports do (the reference band, the average from episode 1),
so this redraws ``lunar_lander_history.png`` and ``lunar_lander_symptoms.txt`` from
``lunar_lander_history.csv`` and ``lunar_lander_config.toml`` exactly as a run's output folder
draws them (:class:`lunar.run.outputs.RunFolder`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lunar.run.tfsetup import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()  # lunar.run.outputs imports the agent's module

from lunar.config import DQNConfig, load_toml  # noqa: E402
from lunar.reports.plotting import learning_curve  # noqa: E402
from lunar.reports.reference import reference_for  # noqa: E402
from lunar.reports.symptoms import symptoms_text  # noqa: E402
from lunar.run.atomic import write_bytes, write_text  # noqa: E402
from lunar.run.outputs import output_paths  # noqa: E402


def main(models: Path = ROOT / "models") -> None:
    config = DQNConfig(**load_toml(models / "lunar_lander_config.toml"))
    paths = output_paths(models, config.env_id)
    history = pd.read_csv(paths["history"])
    write_bytes(paths["plot"], learning_curve(history, window=config.num_p_av, target=config.target_score,
                                              title=f"DQN on {config.env_id}", reference=reference_for(config)))
    write_text(paths["symptoms"], symptoms_text(history, config))
    print(f"{paths['plot']}, {paths['symptoms']}: from {len(history)} episodes of {paths['history']}")


if __name__ == "__main__":
    main()
