"""Does lunar-grade use both cores? A class of 20 course-format notebooks, one job against two.

    python bench/grading.py               # 20 notebooks, --jobs 1 then --jobs 2, 2 rounds
    python bench/grading.py --notebooks 40 --rounds 3

Writes the course-format variants of ``tests/course_format.py`` (solved, blank, stale
outputs, crashing later, partly solved, markers deleted, Gymnasium port) in turn into a
temporary folder, grades it with ``lunar-grade FOLDER --quiet --jobs N`` for N = 1 and 2,
alternating, and writes each wall time and their ratio to ``bench/results/grading.md``.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def class_folder(folder: Path, count: int) -> None:
    from tests import course_format

    (folder / "variants").mkdir()
    variants = course_format.variants(folder / "variants")
    names = sorted(variants)
    for i in range(count):
        source = variants[names[i % len(names)]]
        (folder / "class").mkdir(exist_ok=True)
        (folder / "class" / f"learner_{i:02d}_{source.stem}.ipynb").write_bytes(source.read_bytes())


def timed(folder: Path, jobs: int) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "grading", str(folder), "--quiet", "--jobs", str(jobs)], cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notebooks", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        class_folder(folder, args.notebooks)
        times: dict[int, list[float]] = {1: [], 2: []}
        for _ in range(args.rounds):
            for jobs in (1, 2):
                times[jobs].append(timed(folder / "class", jobs))
                print(f"--jobs {jobs}: {times[jobs][-1]:.1f} s", flush=True)
    ratios = [two / one for one, two in zip(times[1], times[2])]
    from grading.sandbox import isolation

    lines = [
        "# lunar-grade on a class: one job against two",
        "",
        f"`python bench/grading.py --notebooks {args.notebooks} --rounds {args.rounds}` on "
        f"{datetime.date.today()}, {platform.machine()}, Python {platform.python_version()}, "
        f"isolation: {isolation()}. {args.notebooks} course-format notebooks (the seven variants of "
        "`tests/course_format.py` in turn), `lunar-grade FOLDER --quiet --jobs N`, rounds alternating.",
        "",
        "| round | --jobs 1 | --jobs 2 | jobs 2 / jobs 1 |",
        "|---:|---:|---:|---:|",
        *(f"| {i + 1} | {one:.1f} s | {two:.1f} s | {ratio:.0%} |"
          for i, (one, two, ratio) in enumerate(zip(times[1], times[2], ratios))),
        "",
    ]
    (ROOT / "bench" / "results" / "grading.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
