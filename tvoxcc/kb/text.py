"""Words as the full-text indexes see them: runs of letters and digits, case- and accent-folded.

SQLite's unicode61 tokenizer and PostgreSQL's 'simple' parser both split on anything that is not a letter or
a digit (the underscore included), so the same rule here keeps queries, highlights and suggestions in step.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache

WORD = re.compile(r"[^\W_]+")
MAX_WORD = 64  # longer "words" are noise (base64, hashes): cut, so a hostile query stays cheap


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


@lru_cache(maxsize=8192)
def fold(word: str) -> str:
    """Case- and accent-insensitive form, for comparing a word in a text with a search term."""
    if word.isascii():
        return word.lower()
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """The words of ``text``, lower-cased (accents kept: PostgreSQL's 'simple' config keeps them)."""
    return [w.casefold()[:MAX_WORD] for w in WORD.findall(normalize(text))]


def spans(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, folded word) for every word of ``text``, positions in ``text`` itself."""
    for match in WORD.finditer(text):
        word = match.group()
        yield match.start(), match.end(), word.lower() if word.isascii() else fold(normalize(word))
