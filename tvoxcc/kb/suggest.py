"""Which words of a ticket say what it is about: they make the query for suggested articles."""

from __future__ import annotations

import re
from collections.abc import Sequence

from tvoxcc.kb.stopwords import STOPWORDS
from tvoxcc.kb.text import words

SUBJECT_WEIGHT = 3  # a subject is short and says what the ticket is about
MIN_LENGTH = 3
_REPLY_HEADER = re.compile(r"^(on .{0,200} wrote:|il .{0,200} ha scritto:)\s*$", re.I)


def own_text(body: str) -> str:
    """A mail body without the quoted thread and signature, which repeat earlier messages or say nothing."""
    kept: list[str] = []
    for line in body.splitlines():
        if line.rstrip() == "--" or _REPLY_HEADER.match(line.strip()):
            break
        if not line.lstrip().startswith(">"):
            kept.append(line)
    return "\n".join(kept)


def significant_terms(subject: str, messages: Sequence[str], *, limit: int = 8) -> list[str]:
    """The ``limit`` most telling words: frequent, not stopwords, not bare numbers, subject words counted more."""
    score: dict[str, int] = {}
    order: dict[str, int] = {}
    texts = [(subject, SUBJECT_WEIGHT), *((own_text(body), 1) for body in messages)]
    for text, weight in texts:
        for word in words(text):
            if len(word) < MIN_LENGTH or word in STOPWORDS or word.isdigit():
                continue
            score[word] = score.get(word, 0) + weight
            order.setdefault(word, len(order))
    ranked = sorted(score, key=lambda w: (-score[w], order[w]))
    return ranked[:limit]
