"""The course preset's reference learning curve, shipped as ``lunar/reports/data/course_reference.json``.

    python bench/reference_curve.py                 # lunar-sweep on seeds 700-711, then the file
    python bench/reference_curve.py --from-sweep DIR  # the file from a sweep already run

Trains the course preset (``configs/course.toml``) on 12 seeds that no decision has looked at
(``docs/tuning.md`` lists the sets that were spent) and records, per episode, the 10th, 25th,
50th, 75th and 90th percentiles of the 100-episode moving average across seeds, and the
episode where each seed solved. A run that solved has stopped: it keeps its last average for
the later episodes (it would be at or above the target there), so the band does not narrow to
the seeds that are still learning. The file states its seeds, command, date and the kit's version.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SEEDS = "700-711"
COMMAND = f"lunar-sweep --config configs/course.toml --seeds {SEEDS} --eval-episodes 0 --output-dir sweeps/reference"
TARGET = ROOT / "lunar" / "reports" / "data" / "course_reference.json"
PERCENTILES = (10, 25, 50, 75, 90)


def curves(sweep: Path) -> dict[int, pd.DataFrame]:
    """Each seed's history, by seed, from a sweep's plan and run folders."""
    plan = json.loads((sweep / "sweep.json").read_text())
    return {int(trial["config"]["seed"]): pd.read_csv(next((sweep / "runs" / trial["trial_id"]).glob("*_history.csv")))
            for trial in plan["trials"]}


def reference(histories: dict[int, pd.DataFrame]) -> dict:
    longest = max(len(h) for h in histories.values())
    averages = np.array([np.pad(h["moving_average"].to_numpy(float), (0, longest - len(h)), mode="edge")
                         for h in histories.values()])
    solved = [int(h["episode"].iloc[-1]) for h in histories.values() if h["moving_average"].iloc[-1] >= 200]
    return {"seeds": sorted(histories), "command": COMMAND, "made": str(datetime.date.today()),
            "kit_version": version("lunar-kit"), "episodes": longest,
            "note": "per episode, percentiles across seeds of the 100-episode moving average; a run that "
                    "solved keeps its last average after it stopped",
            "percentiles": {str(p): np.round(np.percentile(averages, p, axis=0), 1).tolist() for p in PERCENTILES},
            "solved_at": sorted(solved)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from-sweep", type=Path, default=None, help="a finished sweep folder to read")
    args = parser.parse_args(argv)
    sweep = args.from_sweep
    if sweep is None:
        sweep = ROOT / "sweeps" / "reference"
        subprocess.run([str(Path(sys.executable).parent / COMMAND.split()[0]), *COMMAND.split()[1:]], check=True,
                       cwd=ROOT)
    data = reference(curves(sweep))
    TARGET.parent.mkdir(exist_ok=True)
    TARGET.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    solved = data["solved_at"]
    print(f"{TARGET.relative_to(ROOT)}: {len(data['seeds'])} seeds, {len(solved)} solved, at episodes "
          f"{solved}; median {np.median(solved):.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
