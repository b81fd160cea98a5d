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
