"""Snippets: the best window of an article's text around the searched words, with those words marked.

Done here rather than by FTS5 ``snippet()`` / ``ts_headline`` so both backends show the same snippet,
Markdown syntax never shows up in it, and the marking is tested once. It only runs on the page of hits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from tvoxcc.kb.text import fold, spans

WIDTH = 160  # characters in a snippet
CONTEXT = 30  # characters shown before the first hit
_MARKDOWN = [
    (re.compile(r"```.*?\n|```"), " "),  # code fences (the code stays)
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images -> alt text
    (re.compile(r"\[([^\]]*)\]\([^)]*\)"), r"\1"),  # links -> their text
    (re.compile(r"<[^>\n]{1,200}>"), " "),  # inline HTML tags
    (re.compile(r"^\s{0,3}(#{1,6}|>|[-*+]|\d+[.)])\s+", re.M), ""),  # headings, quotes, list markers
    (re.compile(r"[*`~]+|(?<![^\W_])_+|_+(?![^\W_])"), ""),  # emphasis and code marks (not snake_case)
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


def _pattern(exact: set[str], prefixes: tuple[str, ...]) -> re.Pattern[str] | None:
    words = [re.escape(t) for t in sorted(exact) if t.isascii()]
    words += [re.escape(t) + r"[^\W_]*" for t in prefixes if t.isascii()]
    if not words:
        return None
    return re.compile(r"(?<![^\W_])(?:" + "|".join(words) + r")(?![^\W_])", re.IGNORECASE)


def hits_in(text: str, terms: Sequence[tuple[str, bool]]) -> list[tuple[int, int, str]]:
    """(start, end, folded word) of every searched word in ``text``."""
    exact = {fold(t) for t, prefix in terms if not prefix}
    prefixes = tuple(fold(t) for t, prefix in terms if prefix)
    if text.isascii():  # the common case, done by one regular expression
        pattern = _pattern(exact, prefixes)
        return [(m.start(), m.end(), m.group().lower()) for m in pattern.finditer(text)] if pattern else []
    return [(b, e, w) for b, e, w in spans(text) if w in exact or (bool(prefixes) and w.startswith(prefixes))]


def _cut(text: str, start: int, width: int) -> tuple[int, int]:
    """A window of about ``width`` characters from ``start``, moved to whole words."""
    start = max(0, min(start, len(text) - width))
    if start > 0:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < start + 20 else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    return start, end


def snippet(text: str, terms: Sequence[tuple[str, bool]], *, width: int = WIDTH) -> list[Piece]:
    """About ``width`` characters of ``text`` holding the most distinct searched words, hits marked."""
    hits = hits_in(text, terms)
    best, best_score = _cut(text, 0, width), (-1, -1)
    for begin, _, _ in hits:  # the best window starts a little before one of the hits
        window = _cut(text, begin - CONTEXT, width)
        inside = [w for b, e, w in hits if b >= window[0] and e <= window[1]]
        score = (len(set(inside)), len(inside))
        if score > best_score:
            best, best_score = window, score
    start, end = best
    pieces: list[Piece] = [Piece("… ", False)] if start > 0 else []
    cursor = start
    for b, e, _ in hits:
        if b >= start and e <= end:
            if b > cursor:
                pieces.append(Piece(text[cursor:b], False))
            pieces.append(Piece(text[b:e], True))
            cursor = e
    if end > cursor:
        pieces.append(Piece(text[cursor:end], False))
    if end < len(text):
        pieces.append(Piece(" …", False))
    return pieces


def render(pieces: Sequence[Piece], before: str = "**", after: str = "**") -> str:
    """Hits wrapped in ``before``/``after`` (Markdown bold by default; ANSI bold on a terminal)."""
    return "".join(f"{before}{p.text}{after}" if p.hit else p.text for p in pieces)
