"""Copied work across a crafted class: near-copies rank first, independent correct solutions are not flagged."""

from grading.similarity import MIN_SCORE, code_cells, similar_pairs, similarity_markdown
from tests.crafted_class import write_class

COPIES = {"original", "copy_0", "copy_1", "copy_2"}


def _pairs(tmp_path, template=True):
    made = write_class(tmp_path / "class")
    notebooks = {name: code_cells(path) for name, path in made.items() if name != "template"}
    return similar_pairs(notebooks, code_cells(made["template"]) if template else ()), notebooks


def test_similarity_ranks_the_near_copies_first_and_flags_no_independent_solution(tmp_path):
    pairs, _ = _pairs(tmp_path)
    copy_pairs = [p for p in pairs if {p.first, p.second} <= COPIES]
    assert len(copy_pairs) == 6, [(p.first, p.second, p.score) for p in pairs]
    assert pairs[:6] == copy_pairs  # every pair of the group before anything else
    flagged = {name for p in pairs for name in (p.first, p.second)}
    assert not flagged & {"independent_0", "independent_1"}, [(p.first, p.second, p.score) for p in pairs]
    assert all(p.score >= MIN_SCORE for p in pairs)
    assert any("np.convolve" in line for line in copy_pairs[0].shared), copy_pairs[0].shared


def test_similarity_without_a_template_weighs_the_class_itself(tmp_path):
    pairs, _ = _pairs(tmp_path, template=False)
    flagged = {name for p in pairs for name in (p.first, p.second)}
    assert flagged == COPIES, [(p.first, p.second, p.score) for p in pairs]


def test_similarity_report_shows_the_shared_lines(tmp_path):
    pairs, notebooks = _pairs(tmp_path)
    text = similarity_markdown(pairs, len(notebooks))
    assert text.startswith("# Shared code across 20 notebooks") and "## 1. " in text
    assert pairs[0].shared[0] in text and text.count("```python") == len(pairs)
