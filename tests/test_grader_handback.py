"""What a teacher hands back for a crafted class of 20 notebooks (issue 38): the class view, a feedback file
per notebook, the similarity report, and Gradescope's results.json for one submission."""

import csv
import json

import pytest

from grading.cli import main
from tests.crafted_class import write_class


@pytest.mark.slow  # 20 kernels
def test_grader_hands_back_a_class_view_feedback_and_a_similarity_report(tmp_path, capsys):
    made = write_class(tmp_path / "class")
    feedback, similarity, class_csv = tmp_path / "feedback", tmp_path / "similarity.md", tmp_path / "class.csv"
    assert main([str(tmp_path / "class"), "--jobs", "2", "--feedback", str(feedback), "--similarity",
                 str(similarity), "--template", str(made["template"]), "--class-csv", str(class_csv)]) == 1
    out = capsys.readouterr().out
    learners = [name for name in made if name != "template"]
    assert all(f" {name} " in out for name in learners) and "20 learners" in out
    assert len(out.splitlines()) < 60, out  # one line per learner, not a table per notebook
    view = {row["learner"]: row for row in csv.DictReader(class_csv.open())}
    assert view["original"]["Exercise 1"] == view["original"]["Exercise 2"] == "pass"
    assert view["blank_0"]["Exercise 2"] == "FAIL" and view["partly_0"]["Exercise 2"] == "FAIL"
    assert view["20 learners"]["Exercise 2"] == "11 pass"  # 5 solved, the original, 3 copies, 2 independent
    files = sorted(p.name for p in feedback.iterdir())
    assert files == sorted(f"{name}.md" for name in learners)
    blank = (feedback / "blank_0.md").read_text()
    assert "| Exercise 2: compute_loss | failed |" in blank and "0 of 4 graded parts passed" in blank
    report = similarity.read_text()
    ranked = [line for line in report.splitlines() if line.startswith("## ")]
    assert len(ranked) == 6 and all("copy_" in line for line in ranked), ranked  # the group's six pairs
    assert "independent" not in report


@pytest.mark.slow
def test_grader_writes_gradescope_results_for_one_submission(tmp_path, capsys):
    made = write_class(tmp_path / "class")
    results = tmp_path / "results.json"
    assert main([str(made["partly_0"]), "--gradescope", str(results), "--quiet"]) == 1
    written = json.loads(results.read_text())
    tests = {t["name"]: t for t in written["tests"]}
    assert tests["Exercise 1: q_network"]["score"] == 1.0 and tests["Exercise 2: compute_loss"]["score"] == 0.0
    assert all(t["max_score"] == 1.0 and t["status"] in ("passed", "failed") for t in written["tests"])
    assert written["score"] == sum(t["score"] for t in written["tests"]) == 3.0
    assert "terminal transitions must not bootstrap" in tests["Exercise 2: compute_loss"]["output"]


def test_grader_gradescope_refuses_more_than_one_notebook_before_grading(tmp_path, capsys):
    made = write_class(tmp_path / "class")
    results = tmp_path / "results.json"
    assert main([str(tmp_path / "class"), "--gradescope", str(results)]) == 2
    assert "one submission" in capsys.readouterr().err and not results.exists()
    assert main([str(made["original"]), "--template", str(made["template"])]) == 2
