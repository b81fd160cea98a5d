"""Nothing lost under hostile conditions, tried in one go on small CartPole runs.

    python bench/stress.py              # as root: the full-disk trials mount a small tmpfs
    python bench/stress.py --skip-disk  # without root

Four kinds of trial, each judged against the history of an undisturbed run with the same seed:

- **race** (20): two ``train.py`` started together into one folder: fresh runs with seeds 1 and 2,
  or two ``--resume`` of one run. Held when one is refused (or they ran one after the other) and
  the folder holds one whole run whose history is its seed's reference.
- **kill** (20): ``kill -9`` at a random moment, then ``--resume`` (a fresh start when no
  checkpoint was written yet). Held when the finished history is the reference and no temporary
  file is left.
- **disk** (10): the output folder on a tmpfs with N bytes free, N at 10 points from nothing to
  enough, on a run that solves and saves its model. Held when the run fits or stops with one line
  naming the file, every checkpoint left is valid, no temporary file is left, and once space is
  freed, resuming gives the reference history and the model.
- **manifest** (36): crafted checkpoint manifests (``bench/crafted.py``). Held when resuming skips
  the crafted checkpoint with its reason and finishes with the reference history.

Every trial also needs no traceback and exit codes 0, 2 or 130 only. Writes
``bench/results/stress.md`` (the table) and ``bench/results/stress.csv`` (every trial).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from bench.tally import failures_and_write, held_table, page_head, write_trials_csv  # noqa: E402 - after the path

FLAGS = ["--env", "CartPole-v1", "--memory-size", "5000", "--minibatch-size", "32", "--target-score", "1e9",
         "--max-num-timesteps", "50", "--episodes", "10", "--checkpoint-every", "2", "--quiet"]
STEM = "cartpole_v1"
ALLOWED_EXITS = (0, 2, 130)


def command(folder: Path, seed: int, *extra: str) -> list[str]:
    return [sys.executable, str(ROOT / "train.py"), *FLAGS, "--seed", str(seed), "--output-dir", str(folder), *extra]


def resume_command(folder: Path) -> list[str]:
    return [sys.executable, str(ROOT / "train.py"), "--resume", str(folder), "--quiet"]


def start(argv: list[str]) -> subprocess.Popen:
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT)


def finish(proc: subprocess.Popen) -> tuple[int, str]:
    _, err = proc.communicate(timeout=900)
    return proc.returncode, err


def history(folder: Path):
    """The run's history without its wall-clock column; None when there is none."""
    import pandas as pd

    path = folder / f"{STEM}_history.csv"
    return pd.read_csv(path).drop(columns="elapsed_seconds") if path.is_file() else None


def same(got, want) -> bool:
    return got is not None and got.shape == want.shape and got.equals(want)


def config_seed(folder: Path) -> int | None:
    path = folder / f"{STEM}_config.toml"
    found = re.search(r"^seed = (\d+)$", path.read_text(), re.M) if path.is_file() else None
    return int(found.group(1)) if found else None


def leftovers(folder: Path) -> list[str]:
    """Temporary files and staging folders (hidden names) other than the run's lock file."""
    return sorted(p.name for p in folder.rglob(".*") if p.name != ".lunar-kit.lock")


def broken_promise(results: list[tuple[int, str]]) -> str | None:
    """The first exit code outside 0/2/130, traceback, or multi-line error among ``results``."""
    for code, err in results:
        lines = [line for line in err.splitlines() if line.strip() and not line.startswith("skipping damaged")]
        if code not in ALLOWED_EXITS:
            return f"exit code {code}: {' | '.join(lines)[-200:]}"
        if "Traceback" in err or "Fatal Python error" in err:
            return f"traceback: {lines[-1][:200]}"
        if code == 2 and len(lines) != 1:
            return f"{len(lines)} lines on an error: {' | '.join(lines)[:200]}"
    return None


def references(workdir: Path) -> dict:
    """Undisturbed histories of seeds 1, 2 and 5, and the wall time of one run."""
    refs: dict = {}
    for seed in (1, 2, 5):
        started = time.perf_counter()
        code, err = finish(start(command(workdir / f"ref-{seed}", seed)))
        refs["seconds"] = time.perf_counter() - started
        if code != 0:
            sys.exit(f"stress.py: the reference run of seed {seed} failed: {err.strip()[-300:]}")
        refs[seed] = history(workdir / f"ref-{seed}")
    return refs


def race(workdir: Path, refs: dict, index: int) -> str | None:
    """Two runs started together into one folder; even trials fresh (seeds 1, 2), odd ones two resumes."""
    folder = workdir / f"race-{index}"
    if index % 2 == 0:
        procs = {seed: start(command(folder, seed)) for seed in (1, 2)}
    else:
        code, err = finish(start(command(folder, 1, "--episodes", "4")))
        if code != 0:
            return f"preparing the run failed: {err.strip()[-200:]}"
        procs = {1: start(resume_command(folder) + ["--force", "--episodes", "10"]),
                 2: start(resume_command(folder) + ["--force", "--episodes", "10"])}
    results = {seed: finish(proc) for seed, proc in procs.items()}
    problem = broken_promise(list(results.values()))
    if problem:
        return problem
    refused = [seed for seed, (code, err) in results.items() if code == 2]
    if any("in use by another run" not in results[seed][1] for seed in refused) or len(refused) > 1:
        return f"refusals: {[results[s][1].strip() for s in refused]}"
    finished = [seed for seed, (code, _) in results.items() if code == 0]
    owner = config_seed(folder) if index % 2 == 0 else 1  # both resumes continue seed 1's run
    if not finished or (index % 2 == 0 and owner not in finished):
        return f"the folder holds seed {owner}'s configuration, not a finished run's"
    if not same(history(folder), refs[owner]):
        return f"the folder's history is not seed {owner}'s reference"
    return "leftover temporary files: " + ", ".join(leftovers(folder)) if leftovers(folder) else None


def kill(workdir: Path, refs: dict, index: int, delay: float) -> str | None:
    """``kill -9`` after ``delay`` seconds, then resume (or start again) and compare."""
    folder = workdir / f"kill-{index}"
    proc = start(command(folder, 5))
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    has_checkpoint = any((folder / "checkpoints").glob("ckpt-*"))
    again = finish(start(resume_command(folder) if has_checkpoint else command(folder, 5)))
    problem = broken_promise([again])
    if problem or again[0] != 0:
        return problem or f"after a kill at {delay:.1f} s, exit {again[0]}: {again[1].strip()[-200:]}"
    if not same(history(folder), refs[5]):
        return f"after a kill at {delay:.1f} s the finished history differs from the reference"
    return "leftover temporary files: " + ", ".join(leftovers(folder)) if leftovers(folder) else None


def run_trials(kind: str, trials: list, log: list[dict]) -> None:
    for name, trial in trials:
        started = time.perf_counter()
        try:
            problem = trial()
        except Exception as error:  # a trial that could not run is a failure, not a crash of the bench
            problem = f"the trial itself failed: {type(error).__name__}: {error}"
        problem, detail = problem if isinstance(problem, tuple) else (problem, "")
        log.append({"kind": kind, "trial": name, "held": problem is None, "problem": problem or "",
                    "detail": detail, "seconds": round(time.perf_counter() - started, 1)})
        print(f"{kind:9s} {name:38s} {'held' if problem is None else 'FAILED: ' + problem} {detail}", flush=True)


def manifest(workdir: Path, refs: dict, name: str, craft) -> str | None:
    """Craft the newest checkpoint of a finished run, resume, and expect the one before it used."""
    folder = workdir / f"manifest-{re.sub(r'[^a-z0-9]+', '-', name.lower())}"
    shutil.copytree(workdir / "ref-5", folder)
    newest = max((folder / "checkpoints").glob("ckpt-*"))
    craft(newest)
    code, err = finish(start(resume_command(folder)))
    problem = broken_promise([(code, err)])
    if problem:
        return problem
    if code != 0 or f"skipping damaged checkpoint: {newest.name}" not in err:
        return f"exit {code}, not skipped with its reason: {err.strip()[-200:]}"
    if not same(history(folder), refs[5]):
        return "the finished history differs from the reference"
    return None


@contextlib.contextmanager
def small_disk(path: Path, megabytes: int):
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=False)


def fill_to(disk: Path, free_bytes: int) -> Path:
    """A filler file that leaves ``free_bytes`` free on ``disk``."""
    filler = disk / "filler"
    stat = os.statvfs(disk)
    with open(filler, "wb") as handle:
        handle.truncate(0)
        remaining = stat.f_bavail * stat.f_frsize - free_bytes
        while remaining > 0:  # tmpfs allocates written pages only
            remaining -= handle.write(b"\0" * min(remaining, 1 << 20))
    return filler


def disk(disk_root: Path, refs: dict, free_bytes: int, target: float, solved_at: int) -> tuple:
    """(problem or None, how the first run ended): a solving run on a disk with ``free_bytes``
    free, then space freed and the run finished."""
    from lunar.run import checkpoint as ckpt

    folder = disk_root / "run"
    shutil.rmtree(folder, ignore_errors=True)
    filler = fill_to(disk_root, free_bytes)
    first = finish(start(command(folder, 5, "--target-score", repr(target))))
    ended = f"exit {first[0]}" + (f": {first[1].strip()[:150]}" if first[1].strip() else "")
    if broken_promise([first]):
        return broken_promise([first]), ended
    if first[0] == 2 and not ("space" in first[1] and str(folder) in first[1]):
        return "refused without naming the full disk and the file", ended
    for path in (folder / "checkpoints").glob("ckpt-*"):
        try:
            ckpt.load(path)
        except ckpt.CheckpointError as error:
            return f"a checkpoint left by the full disk is damaged: {error}", ended
    if leftovers(folder):
        return "leftover temporary files: " + ", ".join(leftovers(folder)), ended
    filler.unlink()
    resumable = any((folder / "checkpoints").glob("ckpt-*"))
    again = finish(start(resume_command(folder) if resumable else command(folder, 5, "--target-score", repr(target))))
    if broken_promise([again]) or again[0] != 0:
        return broken_promise([again]) or f"after freeing space, exit {again[0]}: {again[1].strip()[-200:]}", ended
    if not same(history(folder), refs[5].iloc[:solved_at]):
        return "after freeing space the history differs from the reference", ended
    return (None if (folder / f"{STEM}_model.h5").is_file() else "the solved run has no model"), ended


def solving_target(refs: dict) -> tuple[float, int]:
    """A target score that seed 5 first reaches late in its run, and the episode where it does."""
    averages = refs[5]["moving_average"]
    target = float(averages.max())
    return target, int((averages >= target).to_numpy().argmax()) + 1


def disk_trials(workdir: Path, refs: dict) -> list:
    target, solved_at = solving_target(refs)
    sized = workdir / "sized"
    finish(start(command(sized, 5, "--target-score", repr(target))))
    needed = sum(p.stat().st_size for p in sized.rglob("*") if p.is_file())
    # eight points up to a little more than a run writes, then two where the model's margin fits
    points = [int(needed * 1.2 * i / 7) for i in range(8)] + [needed + 3 * (1 << 19), needed + (1 << 22)]
    root = workdir / "disk"

    def trial(free: int):
        return lambda: disk(root, refs, free, target, solved_at)
    return root, [(f"{free:,} bytes free (a run needs ~{needed:,})", trial(free)) for free in points]


def write_report(log: list[dict], wall: float, note: str) -> None:
    results = ROOT / "bench" / "results"
    write_trials_csv(results / "stress.csv", log)
    lines = page_head("Stress: nothing lost under hostile conditions", "bench/stress.py", wall, note)
    lines += held_table(log, "kind", "trial")
    failures_and_write(results / "stress.md", lines, log,
                       lambda row: f"{row['kind']} / {row['trial']}: {row['problem']}", "No failures: no traceback, exit codes 0, 2 and 130 only.", "Every trial, with its time, is in "
                       "`stress.csv`.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--races", type=int, default=20)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0, help="draws the kill moments")
    parser.add_argument("--skip-disk", action="store_true", help="no full-disk trials (they need root)")
    args = parser.parse_args(argv)
    from bench.crafted import CRAFTS

    started, log = time.perf_counter(), []
    with tempfile.TemporaryDirectory(prefix="lunar-stress-") as tmp:
        workdir = Path(tmp)
        refs = references(workdir)
        print(f"reference runs: {refs['seconds']:.1f} s each", flush=True)
        run_trials("race", [(("fresh" if i % 2 == 0 else "resume") + f" #{i}",
                             lambda i=i: race(workdir, refs, i)) for i in range(args.races)], log)
        delays = [random.Random(args.seed + i).uniform(0.2, refs["seconds"]) for i in range(args.kills)]
        run_trials("kill", [(f"after {d:.2f} s", lambda i=i, d=d: kill(workdir, refs, i, d))
                            for i, d in enumerate(delays)], log)
        if not args.skip_disk:
            root, trials = disk_trials(workdir, refs)
            with small_disk(root, 64):
                run_trials("disk", trials, log)
        run_trials("manifest", [(name, lambda n=name, c=craft: manifest(workdir, refs, n, c))
                                for name, craft in CRAFTS], log)
    note = "Full-disk trials skipped (--skip-disk)." if args.skip_disk else "Full disk: a 64 MiB tmpfs."
    write_report(log, time.perf_counter() - started, note)
    return 0 if all(row["held"] for row in log) else 1


if __name__ == "__main__":
    sys.exit(main())
