"""Copied work: which notebooks share code beyond the course's template, ranked, with the lines shown.

Each notebook's code becomes a set of normalised lines: comments, blank lines and the template's lines
dropped; the learner's own names (variables, functions) become ``_``, strings ``"…"``, while keywords,
builtins, attributes and imported names stay (renaming a variable hides nothing, and ``tf.reduce_max``
stays itself). A line that many notebooks share is no evidence: a pair's score is the sum, over the lines
both hold, of ``1 / (k - 1)`` for a line that ``k`` notebooks of the class hold, and lines that half the
class holds or more count for nothing. Reordered cells change nothing (sets of lines). Pairs scoring
:data:`MIN_SCORE` or more are reported, highest first: a place for the teacher to look, never a verdict.

Written here rather than with a winnowing library (``copydetect``): the weighting by the class's own
frequency is what tells copied work from the short answers every correct solution shares, and it needs
no dependency.
"""

from __future__ import annotations

import builtins
import io
import keyword
import tokenize
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Iterable, Sequence

MIN_SCORE = 3.0
"""About three lines that only the two notebooks share (issue 38: once exact copies are dropped, three pairs
of 158 real copies share three or more uncommon lines)."""
MIN_TOKENS = 4
"""Shorter lines (``x = y``, ``return loss``) are everyone's."""
KEEP = set(keyword.kwlist) | set(dir(builtins))


@dataclass(frozen=True)
class Pair:
    first: str
    second: str
    score: float
    shared: tuple[str, ...]
    """The lines both hold that count, as the first notebook wrote them, the rarest first."""


def normalised_lines(sources: Iterable[str]) -> dict[str, str]:
    """normalised line -> the first line written so, over the code cells ``sources``."""
    logical = [line for source in sources for line in _logical_lines(source)]
    imported = {t.string for tokens, _ in logical if tokens and tokens[0].string in ("import", "from")
                for t in tokens if t.type == tokenize.NAME}  # from every cell: reordered cells change nothing
    lines: dict[str, str] = {}
    for tokens, written in logical:
        shape = [_shape(t, tokens[i - 1] if i else None, imported) for i, t in enumerate(tokens)]
        if len(shape) >= MIN_TOKENS:
            lines.setdefault(" ".join(shape), written)
    return lines


def _logical_lines(source: str) -> Iterable[tuple[list[tokenize.TokenInfo], str]]:
    skip = (tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING)
    current: list[tokenize.TokenInfo] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
                if current:
                    yield current, current[0].line.strip()
                current = []
            elif token.type not in skip:
                current.append(token)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return


def _shape(token: tokenize.TokenInfo, before: tokenize.TokenInfo | None, imported: set[str]) -> str:
    if token.type == tokenize.NAME:
        attribute = before is not None and before.string == "."
        return token.string if attribute or token.string in KEEP or token.string in imported else "_"
    if token.type == tokenize.STRING:
        return '"…"'
    return token.string


def similar_pairs(notebooks: dict[str, Sequence[str]], template: Sequence[str] = ()) -> list[Pair]:
    """Pairs of ``notebooks`` (name -> code cells) that share uncommon code beyond ``template``'s cells."""
    boilerplate = set(normalised_lines(template))
    lines = {name: {k: v for k, v in normalised_lines(cells).items() if k not in boilerplate}
             for name, cells in notebooks.items()}
    holders: dict[str, int] = {}
    for held in lines.values():
        for line in held:
            holders[line] = holders.get(line, 0) + 1
    common = max(2, len(notebooks) / 2)
    weight = {line: 1 / (k - 1) for line, k in holders.items() if 1 < k < common}
    pairs = []
    for a, b in combinations(sorted(notebooks), 2):
        shared = sorted((line for line in lines[a].keys() & lines[b].keys() if line in weight),
                        key=lambda line: (-weight[line], line))  # rarest first, then as written: the same every run
        score = sum(weight[line] for line in shared)
        if score >= MIN_SCORE:
            pairs.append(Pair(a, b, round(score, 2), tuple(lines[a][line] for line in shared)))
    return sorted(pairs, key=lambda p: (-p.score, p.first, p.second))


def code_cells(path: Any) -> list[str]:
    """The code cells of a notebook file, as written (an unreadable file has none)."""
    from grading.notebook import UnreadableNotebook, read_cells

    try:
        return [cell.text for cell in read_cells(path)]
    except UnreadableNotebook:
        return []


def similarity_markdown(pairs: list[Pair], count: int, shown: int = 8) -> str:
    """The report: the pairs, highest first, each with the lines it shares (at most ``shown``)."""
    lines = [f"# Shared code across {count} notebooks", "",
             f"{len(pairs)} pair(s) share code beyond the template worth {MIN_SCORE:g} or more (a line only the two "
             "hold counts 1, a line k notebooks hold 1/(k-1), a line half the class holds 0). A place to look, "
             "not a verdict.", ""]
    for rank, pair in enumerate(pairs, start=1):
        lines += [f"## {rank}. {pair.first} and {pair.second}: {pair.score:g}", "", "```python",
                  *pair.shared[:shown], *(["# ..."] if len(pair.shared) > shown else []), "```", ""]
    return "\n".join(lines)
