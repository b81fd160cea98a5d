"""The package boundaries the project promises: lunar/ and tabular/ stand alone."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imported_top_levels(package: str) -> set[str]:
    names = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package, forbidden", [
    ("lunar", {"utils", "train", "evaluate", "tabular", "bench", "tests"}),
    ("tabular", {"lunar", "utils", "train", "evaluate", "bench", "tests"}),
])
def test_layout_packages_stand_alone(package, forbidden):
    assert not (_imported_top_levels(package) & forbidden)


def test_layout_scripts_stay_thin():
    for script in ("train.py", "evaluate.py"):
        code = [line for line in (ROOT / script).read_text().splitlines() if line.strip()]
        assert len(code) <= 12, f"{script} should only parse arguments and call the package"


def test_layout_ci_runs_the_readmes_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Two commands", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [line.strip() for line in block.splitlines() if line.strip()]
    assert commands == ['pip install -e ".[dev]" && python train.py', "python -m pytest"]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert ci[-3:-1] == commands, ".ci/run must run the README's two commands, word for word"
    assert ci[-1].startswith("python -m pytest -m slow"), "then the slow tests the quick command leaves out"


def test_layout_readme_stays_within_200_lines():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200, f"the README is for learners: {len(lines)} lines, at most 200"


def test_layout_grading_stand_ins_stay_inside_the_grading_kernel():
    import importlib.util

    import grading.cli  # noqa: F401 - importing the grader must not put its stand-ins on the path

    compat = ROOT / "grading" / "compat"
    for name in ("gym", "pyvirtualdisplay", "lunar_grade_kernel"):
        spec = importlib.util.find_spec(name)
        assert spec is None or compat not in Path(spec.origin or "").parents, f"{name} is importable outside"
    for package in ("lunar", "tabular"):
        assert not (_imported_top_levels(package) & {"grading", "gym", "pyvirtualdisplay"})
    for module in ("utils.py", "public_tests.py"):
        source = (ROOT / module).read_text(encoding="utf-8")
        assert "import grading" not in source and "from grading" not in source, module


def _module_imports(package_dirs: tuple[str, ...]) -> dict[str, set[str]]:
    """Module -> the project modules it imports anywhere in its code (function-level imports too). ``from pkg
    import x`` imports the package ``pkg`` (its ``__init__``), whether ``x`` is a name or a submodule."""
    modules = {}
    for package in package_dirs:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if "compat" in parts:  # the grading kernel's stand-ins: files of grading/, never imported as it
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    edges = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
                if base in modules and modules[base].name == "__init__.py":  # a package's face: its __init__ runs
                    targets = [] if base == name else [base]                     # and its names are taken there
                    edges[name].update(targets)
                    continue
                targets = [base]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and not name.startswith(target + "."):
                    edges[name].add(target)
    return edges


def test_layout_no_import_circle_anywhere():
    edges = _module_imports(("lunar", "grading", "tabular"))
    state: dict[str, int] = {}

    def circle_from(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [node, nxt] if nxt in path else [node, nxt]
            if nxt not in state and (found := circle_from(nxt, path + [node])):
                return found
        state[node] = 2
        return None

    for module in sorted(edges):
        if module not in state:
            found = circle_from(module, [])
            assert found is None, " -> ".join(found)


def test_layout_lunar_shows_the_dqn_first_in_at_most_12_entries():
    entries = sorted(p.name for p in (ROOT / "lunar").iterdir() if p.name != "__pycache__")
    assert len(entries) <= 12, entries
    for course_part in ("agent.py", "losses.py", "replay.py", "training.py", "config.py"):
        assert course_part in entries


def test_layout_train_py_reaches_lunar_without_importing_grading():
    code = ("import runpy, sys\nsys.argv = ['train.py', '--help']\ntry:\n    runpy.run_path('train.py', run_name='__main__')\n"
            "except SystemExit:\n    pass\nprint(sorted(m for m in sys.modules if m.split('.')[0] == 'grading'))")
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout[-500:] + done.stderr[-500:]


def test_layout_models_hold_every_file_a_run_writes():
    from lunar.run.outputs import output_paths

    expected = {path.name for key, path in output_paths(ROOT / "models", "LunarLander-v3").items() if key != "checkpoints"}
    assert expected <= {p.name for p in (ROOT / "models").iterdir()}
