"""Every hostile input held: the project's own attack on every command, by the issue's categories.

    python bench/hostile.py              # about 4 minutes on 2 cores
    python bench/hostile.py --only api   # one category

Each case runs one command, or one call of the Python API, in a fresh folder, with the
environment a learner has (``TF_CPP_MIN_LOG_LEVEL`` unset). A case holds when the exit code
is the one promised (0 done, 2 bad input, 130 interrupted), nothing prints a traceback, a
refusal is exactly one line on stderr (an API call: the kit's own ``UserError``), and a
refused command left its folder as it was. Categories:

- **data-lost**: a checkpoint folder renamed to a later number, a forged history holding an
  infinite return, a fractional checkpoint interval;
- **traceback**: TOML the parser cannot take, names longer than the file system takes, places
  that accept no file (``/proc``, ``/sys``), bad search-space ranges, odd notebook metadata,
  a file-size limit hit inside the GIF encoder;
- **exit-code**: Ctrl-C and SIGTERM during start-up and during grading, ``--checkpoint-every 0``;
- **api**: nonsense passed to ``lunar.train``, ``lunar.evaluate`` and ``tabular.train``;
- **after-work**: files of the run that are the wrong kind, a refused resume, unwritable grades;
- **one-line**: the console scripts, a removed environment id, a refused Ray address.

Writes ``bench/results/hostile.md`` (the table) and ``bench/results/hostile.csv`` (every case).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.tally import failures_and_write, held_table, page_head, write_trials_csv  # noqa: E402 - after the path
BIN = Path(sys.executable).parent
LONG = "a" * 300
PY = sys.executable
TRAIN, EVALUATE, TABULAR = [PY, str(ROOT / "train.py")], [PY, str(ROOT / "evaluate.py")], [PY, "-m", "tabular"]
GRADE, SWEEP, TUNE = [str(BIN / "lunar-grade")], [str(BIN / "lunar-sweep")], [str(BIN / "lunar-tune")]
SMALL = ["--env", "CartPole-v1", "--memory-size", "5000", "--minibatch-size", "32", "--target-score", "1e9",
         "--max-num-timesteps", "50", "--seed", "5", "--quiet"]
MODEL = str(ROOT / "models" / "lunar_lander_model.h5")
NOTEBOOK = str(ROOT / "notebooks" / "lab_exercises.ipynb")
FAST = str(ROOT / "configs" / "fast.toml")


@dataclass
class Case:
    category: str
    name: str
    argv: list[str]
    """The command; ``{tmp}`` stands for the case's folder."""
    expect: int = 2
    setup: Callable[[Path], None] | None = None
    check: Callable[[Path, str], str | None] | None = None
    """A further judgement on the folder and stderr: the problem, or None."""
    interrupt: tuple[int, float] | None = None
    """(signal, seconds after the start) to send."""
    unchanged: bool = True
    small_files: bool = False
    api: bool = False


def api(call: str, category: str = "api", **kwargs) -> Case:
    """A Python API call that must raise the kit's UserError (exit 2 here)."""
    code = ("import sys\nfrom lunar.errors import UserError as A\nfrom tabular.errors import UserError as B\n"
            "import lunar, tabular\ntry:\n    " + call + "\nexcept (A, B) as error:\n"
            "    print(f'UserError: {error}', file=sys.stderr)\n    sys.exit(2)\n")
    return Case(category, call[:70], [PY, "-c", code], api=True, **kwargs)


def write(name: str, text: str) -> Callable[[Path], None]:
    return lambda tmp: (tmp / name).write_text(text)


def space(line: str) -> Callable[[Path], None]:
    def make(tmp: Path) -> None:
        shutil.copy(FAST, tmp / "fast.toml")
        (tmp / "space.toml").write_text('base = "fast.toml"\nseeds = [1]\nmax_steps = 100\nreport_every = 50\n'
                                        f"validation_episodes = 1\n\n[space]\n{line}\n")
    return make


def odd_tags(tmp: Path) -> None:
    notebook = json.loads(Path(NOTEBOOK).read_text())
    notebook["cells"][1].setdefault("metadata", {})["tags"] = 5
    (tmp / "odd.ipynb").write_text(json.dumps(notebook))


def trained(tmp: Path, episodes: int = 6) -> None:
    """A finished 6-episode run in ``tmp/run`` with checkpoints at 3 and 6."""
    subprocess.run([*TRAIN, *SMALL, "--episodes", str(episodes), "--checkpoint-every", "3", "--output-dir",
                    str(tmp / "run")], check=True, capture_output=True, cwd=ROOT)


def renamed(tmp: Path) -> None:
    trained(tmp)
    (tmp / "run" / "checkpoints" / "ckpt-000003").rename(tmp / "run" / "checkpoints" / "ckpt-000099")


def infinite_return(tmp: Path) -> None:
    from bench.crafted import CRAFTS

    trained(tmp)
    dict(CRAFTS)["history return inf"](tmp / "run" / "checkpoints" / "ckpt-000006")


def checkpoints_after_resume(expected: list[str]) -> Callable[[Path, str], str | None]:
    def check(tmp: Path, err: str) -> str | None:
        names = sorted((p.name for p in (tmp / "run" / "checkpoints").glob("ckpt-*")), reverse=True)
        rows = len((tmp / "run" / "cartpole_v1_history.csv").read_text().strip().splitlines()) - 1
        if names != expected or rows != int(expected[0][-6:]):
            return f"checkpoints {names}, {rows} history rows after the resume"
        return None if "skipping damaged checkpoint" in err else "the crafted checkpoint was not reported"
    return check


def no_file(name: str) -> Callable[[Path, str], str | None]:
    return lambda tmp, err: f"{name} was written" if (tmp / name).exists() else None


RESUME = [*TRAIN, "--resume", "{tmp}/run", "--quiet", "--force", "--episodes", "9"]
CASES = [
    Case("data-lost", "checkpoint folder renamed to ckpt-000099", RESUME, 0, renamed,
         checkpoints_after_resume(["ckpt-000009", "ckpt-000006"]), unchanged=False),
    Case("data-lost", "forged history with an infinite return", RESUME, 0, infinite_return,
         checkpoints_after_resume(["ckpt-000009", "ckpt-000006"]), unchanged=False),
    api("lunar.train(env_id='CartPole-v1', num_episodes=1, output_dir=sys.argv[1], checkpoint_every=2.5)",
        "data-lost"),
    Case("traceback", "train --config 5,000-digit integer",
         [*TRAIN, "--config", "{tmp}/big.toml", "--output-dir", "{tmp}/out"], setup=write("big.toml", "seed = " + "9" * 5000)),
    Case("traceback", "train --config 3,000 nested arrays", [*TRAIN, "--config", "{tmp}/deep.toml"],
         setup=write("deep.toml", "gamma = " + "[" * 3000 + "]" * 3000)),
    Case("traceback", "lunar-sweep --config 3,000 nested arrays", [*SWEEP, "--config", "{tmp}/deep.toml",
                                                                   "--output-dir", "{tmp}/out"],
         setup=write("deep.toml", "gamma = " + "[" * 3000 + "]" * 3000)),
    Case("traceback", "lunar-tune 5,000-digit integer", [*TUNE, "{tmp}/big.toml"],
         setup=write("big.toml", "seeds = " + "9" * 5000)),
    Case("traceback", "train --output-dir 300-byte name", [*TRAIN, *SMALL, "--output-dir", "{tmp}/" + LONG]),
    Case("traceback", "train --tensorboard 300-byte name", [*TRAIN, *SMALL, "--output-dir", "{tmp}/out",
                                                            "--tensorboard", "{tmp}/" + LONG]),
    Case("traceback", "train --tensorboard /proc", [*TRAIN, *SMALL, "--output-dir", "{tmp}/out", "--tensorboard",
                                                    "/proc/lunar-kit-tb"]),
    Case("traceback", "evaluate --model 300-byte name", [*EVALUATE, "--model", "{tmp}/" + LONG + ".h5"]),
    Case("traceback", "evaluate --csv 300-byte name", [*EVALUATE, "--model", MODEL, "--episodes", "1", "--no-video",
                                                       "--csv", "{tmp}/" + LONG + ".csv"]),
    Case("traceback", "evaluate --csv /proc", [*EVALUATE, "--model", MODEL, "--episodes", "1", "--no-video", "--csv",
                                               "/proc/lunar-kit.csv"]),
    Case("traceback", "evaluate --video /sys", [*EVALUATE, "--model", MODEL, "--episodes", "1", "--video",
                                                "/sys/lunar-kit.mp4"]),
    Case("traceback", "lunar-grade 300-byte notebook name", [*GRADE, "{tmp}/" + LONG + ".ipynb"]),
    Case("traceback", "lunar-grade --csv 300-byte name", [*GRADE, NOTEBOOK, "--csv", "{tmp}/" + LONG + ".csv"]),
    Case("traceback", "lunar-sweep --output-dir 300-byte name", [*SWEEP, "--config", FAST, "--output-dir",
                                                                  "{tmp}/" + LONG]),
    Case("traceback", "tabular --output-dir 300-byte name", [*TABULAR, "chain", "--output-dir", "{tmp}/" + LONG]),
    Case("traceback", "tabular --output-dir /proc", [*TABULAR, "chain", "--output-dir", "/proc/lunar-kit"]),
    Case("traceback", "lunar-tune high = \"x\"", [*TUNE, "{tmp}/space.toml"],
         setup=space('alpha = { low = 0.001, high = "x" }')),
    Case("traceback", "lunar-tune log = true, low = 0", [*TUNE, "{tmp}/space.toml", "--output-dir", "{tmp}/out"],
         setup=space("alpha = { low = 0, high = 0.01, log = true }")),
    Case("traceback", "lunar-sweep --address 127.0.0.1:\u00b2", [*SWEEP, "--config", FAST, "--address",
                                                                 "127.0.0.1:\u00b2", "--output-dir", "{tmp}/out"]),
    Case("traceback", "lunar-sweep corrupt sweep.json", [*SWEEP, "--config", FAST, "--output-dir", "{tmp}"],
         setup=write("sweep.json", "{not json")),
    Case("traceback", "lunar-grade cell tags = 5", [*GRADE, "{tmp}/odd.ipynb", "--quiet"], expect=1, setup=odd_tags,
         unchanged=False),
    Case("traceback", "tabular frozenlake, files over 20 kB fail", [*TABULAR, "frozenlake", "--episodes", "300",
                                                                     "--output-dir", "{tmp}"], small_files=True),
    Case("exit-code", "train --checkpoint-every 0", [*TRAIN, *SMALL, "--checkpoint-every", "0", "--output-dir",
                                                     "{tmp}/out"]),
    Case("exit-code", "Ctrl-C 1 s into train.py", [*TRAIN, *SMALL, "--output-dir", "{tmp}/out"], 130,
         interrupt=(signal.SIGINT, 1.0)),
    Case("exit-code", "SIGTERM 1 s into train.py", [*TRAIN, *SMALL, "--output-dir", "{tmp}/out"], 130,
         interrupt=(signal.SIGTERM, 1.0)),
    Case("exit-code", "Ctrl-C 1 s into evaluate.py", [*EVALUATE, "--model", MODEL, "--no-video"], 130,
         interrupt=(signal.SIGINT, 1.0)),
    Case("exit-code", "SIGTERM 1 s into lunar-train", [str(BIN / "lunar-train"), *SMALL, "--output-dir", "{tmp}/out"],
         130, interrupt=(signal.SIGTERM, 1.0)),
    Case("exit-code", "Ctrl-C 5 s into lunar-grade", [*GRADE, NOTEBOOK, "--csv", "{tmp}/grades.csv"], 130,
         interrupt=(signal.SIGINT, 5.0)),
    Case("exit-code", "SIGTERM 5 s into lunar-grade", [*GRADE, NOTEBOOK, "--csv", "{tmp}/grades.csv"], 130,
         interrupt=(signal.SIGTERM, 5.0)),
    api("lunar.train(env_id='CartPole-v1', output_dir='a\\0b')"),
    api("lunar.train(env_id='CartPole-v1', output_dir=sys.argv[1], checkpoint_every='5')"),
    api("lunar.train(config='not a config', output_dir=sys.argv[1])"),
    api("lunar.train(env_id='CartPole-v1', output_dir=3)"),
    api(f"lunar.evaluate({MODEL!r}, episodes=0).summary()"),
    api(f"lunar.evaluate({MODEL!r}, episodes=2.5)"),
    api(f"lunar.evaluate({MODEL!r}, episodes=1, seed=-1)"),
    api("tabular.train('chain', alpha='x')"),
    api("tabular.train('chain', states=2.5)"),
    api("tabular.train('chain', episodes=None)"),
    api("tabular.train('chain', seed=-1)"),
    api("tabular.train('gridworld', goal=(2, 2))"),
    api("tabular.train('mars-rover', variant='moon')"),
    api("tabular.train('frozenlake', slippery='yes')"),
    Case("after-work", "checkpoints is a file", [*TRAIN, *SMALL, "--episodes", "2", "--output-dir", "{tmp}"],
         setup=write("checkpoints", "x")),
    Case("after-work", "history file name is a folder", [*TRAIN, *SMALL, "--episodes", "2", "--output-dir", "{tmp}"],
         setup=lambda tmp: (tmp / "cartpole_v1_history.csv").mkdir()),
    Case("after-work", "config file name is a folder", [*TRAIN, *SMALL, "--episodes", "2", "--output-dir", "{tmp}"],
         setup=lambda tmp: (tmp / "cartpole_v1_config.toml").mkdir()),
    Case("after-work", "resume with an empty checkpoints folder", [*TRAIN, *SMALL, "--resume", "{tmp}"],
         setup=lambda tmp: (tmp / "checkpoints").mkdir()),
    api("lunar.train(env_id='CartPole-v1', output_dir=sys.argv[1], resume=True)", "after-work",
        setup=lambda tmp: (tmp / "checkpoints").mkdir()),
    Case("after-work", "lunar-grade --csv into /proc", [*GRADE, NOTEBOOK, "--csv", "/proc/grades.csv"]),
    Case("after-work", "lunar-grade --json into a folder", [*GRADE, NOTEBOOK, "--json", "{tmp}"]),
    Case("one-line", "lunar-train --env Nope-v0", [str(BIN / "lunar-train"), "--env", "Nope-v0", "--output-dir",
                                                   "{tmp}/out"]),
    Case("one-line", "lunar-evaluate --model missing.h5", [str(BIN / "lunar-evaluate"), "--model", "{tmp}/x.h5"]),
    Case("one-line", "train --env LunarLander-v2", [*TRAIN, "--env", "LunarLander-v2", "--output-dir", "{tmp}/out"]),
    Case("one-line", "lunar-sweep --address 127.0.0.1:1 (no cluster)", [*SWEEP, "--config", FAST, "--address",
                                                                         "127.0.0.1:1", "--output-dir", "{tmp}/out"]),
    Case("one-line", "lunar-tune missing space file", [*TUNE, "{tmp}/missing.toml"]),
]


def listing(folder: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(folder)), p.stat().st_size if p.is_file() else -1) for p in folder.rglob("*"))


def run_case(case: Case, folder: Path) -> tuple[str | None, int, str]:
    """(problem or None, exit code, stderr's last line)."""
    if case.setup is not None:
        case.setup(folder)
    before = listing(folder)
    argv = [a.replace("{tmp}", str(folder)) for a in case.argv] + ([str(folder)] if case.api else [])
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}

    def child() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # a bench started with & has SIGINT ignored: its children too
        if case.small_files:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=folder, env=env,
                            preexec_fn=child)
    if case.interrupt is not None:
        time.sleep(case.interrupt[1])
        proc.send_signal(case.interrupt[0])
    _, err = proc.communicate(timeout=600)
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("skipping damaged")]
    last = lines[-1][:160] if lines else ""
    if "Traceback" in err or "Fatal Python error" in err:
        return "traceback", proc.returncode, last
    if proc.returncode != case.expect:
        return f"exit {proc.returncode}, not {case.expect}", proc.returncode, last
    if case.api and not last.startswith("UserError: "):
        return "not the kit's UserError", proc.returncode, last
    if not case.api and case.expect in (2, 130) and len(lines) != 1:
        return f"{len(lines)} lines on stderr", proc.returncode, " | ".join(lines)[:160]
    if case.unchanged and listing(folder) != before:
        return "the refused command wrote in its folder", proc.returncode, last
    problem = case.check(folder, err) if case.check is not None else None
    return problem, proc.returncode, last


def write_report(log: list[dict], wall: float) -> None:
    results = ROOT / "bench" / "results"
    write_trials_csv(results / "hostile.csv", log)
    lines = page_head("Hostile inputs: the project's own attack", "bench/hostile.py", wall)
    lines += held_table(log, "category", "category")
    lines.append(f"| **all** | **{len(log)}** | **{sum(row['held'] for row in log)}** |")
    failures_and_write(results / "hostile.md", lines, log,
                       lambda row: f"{row['category']} / {row['case']}: {row['problem']} ({row['stderr']})",
                       "No failures.", "Every case, with its exit code, time and last line of stderr, is in "
                       "`hostile.csv`.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=sorted({case.category for case in CASES}), help="one category")
    args = parser.parse_args(argv)
    started, log = time.perf_counter(), []
    for case in CASES:
        if args.only and case.category != args.only:
            continue
        with tempfile.TemporaryDirectory(prefix="lunar-hostile-") as tmp:
            began = time.perf_counter()
            try:
                problem, code, last = run_case(case, Path(tmp))
            except Exception as error:  # a case that could not run is a failure, not a crash of the bench
                problem, code, last = f"the case itself failed: {type(error).__name__}: {error}", -1, ""
        log.append({"category": case.category, "case": case.name, "held": problem is None, "problem": problem or "",
                    "exit": code, "stderr": last, "seconds": round(time.perf_counter() - began, 1)})
        print(f"{case.category:10s} {case.name[:60]:60s} {'held' if problem is None else 'FAILED: ' + problem}",
              flush=True)
    write_report(log, time.perf_counter() - started)
    return 0 if all(row["held"] for row in log) else 1


if __name__ == "__main__":
    sys.exit(main())
