"""Snippets: the best window of an article's text around the searched words, with those words marked.

Done here rather than by FTS5 ``snippet()`` / ``ts_headline`` so both backends show the same snippet,
Markdown syntax never shows up in it, and the marking is tested once. It only runs on the page of hits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from tvoxcc.kb.text import fold, spans

WINDOW = 24  # words in a snippet
_MARKDOWN = [
    (re.compile(r"```.*?\n|```"), " "),  # code fences (the code stays)
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images -> alt text
    (re.compile(r"\[([^\]]*)\]\([^)]*\)"), r"\1"),  # links -> their text
    (re.compile(r"<[^>\n]{1,200}>"), " "),  # inline HTML tags
    (re.compile(r"^\s{0,3}(#{1,6}|>|[-*+]|\d+[.)])\s+", re.M), ""),  # headings, quotes, list markers
    (re.compile(r"[*_`~]+"), ""),  # emphasis and code marks
    (re.compile(r"\s+"), " "),
]


def plain_text(markdown: str) -> str:
    text = markdown
    for pattern, replacement in _MARKDOWN:
        text = pattern.sub(replacement, text)
    return text.strip()


@dataclass(frozen=True)
class Piece:
    text: str
    hit: bool


def _is_hit(word: str, terms: Sequence[tuple[str, bool]]) -> bool:
    return any(word.startswith(t) if prefix else word == t for t, prefix in terms)


def snippet(text: str, terms: Sequence[tuple[str, bool]], *, window: int = WINDOW) -> list[Piece]:
    """The ``window`` words of ``text`` holding the most distinct searched words, hits marked."""
    folded = [(fold(t), prefix) for t, prefix in terms]
    found = list(spans(text))
    if not found:
        return [Piece(text[:200], False)] if text else []
    hits = [_is_hit(w, folded) for _, _, w in found]
    best, best_score = 0, (-1, -1)
    for start in range(max(1, len(found) - window + 1)):
        inside = [found[i][2] for i in range(start, min(len(found), start + window)) if hits[i]]
        score = (len(set(inside)), len(inside))
        if score > best_score:
            best, best_score = start, score
    last = min(len(found), best + window) - 1
    pieces: list[Piece] = [Piece("… ", False)] if best > 0 else []
    cursor = found[best][0]
    for i in range(best, last + 1):
        begin, end, _ = found[i]
        if hits[i]:
            if begin > cursor:
                pieces.append(Piece(text[cursor:begin], False))
            pieces.append(Piece(text[begin:end], True))
            cursor = end
    tail_end = found[last][1] if last < len(found) - 1 else len(text)
    if tail_end > cursor:
        pieces.append(Piece(text[cursor:tail_end], False))
    if last < len(found) - 1:
        pieces.append(Piece(" …", False))
    return pieces


def render(pieces: Sequence[Piece], before: str = "**", after: str = "**") -> str:
    """Hits wrapped in ``before``/``after`` (Markdown bold by default; ANSI bold on a terminal)."""
    return "".join(f"{before}{p.text}{after}" if p.hit else p.text for p in pieces)
