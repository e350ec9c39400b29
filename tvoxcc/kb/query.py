"""User text -> a safe full-text query, for SQLite FTS5 and PostgreSQL tsquery.

Nothing the user types is passed through as query syntax: the text is cut into words (letters and digits
only), so quotes, ``*``, ``AND OR NOT``, ``NEAR(``, column filters or unicode can never make the database
raise. What we do understand: ``"a quoted phrase"``, a trailing ``*`` for a prefix (``pass*``), and every
word must match (a suggestion query asks for any of its words instead).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tvoxcc.kb.stopwords import STOPWORDS
from tvoxcc.kb.text import normalize, words

MAX_CLAUSES = 16
MIN_PREFIX = 2  # "a*" would expand to half the index
QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})
CHUNK = re.compile(r'"([^"]*)"|(\S+)')


@dataclass(frozen=True)
class Clause:
    """One word, or a phrase of words that must be adjacent; ``prefix`` applies to the last word."""

    words: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True)
class SearchQuery:
    clauses: tuple[Clause, ...]
    match_all: bool = True

    @property
    def empty(self) -> bool:
        return not self.clauses

    def terms(self) -> list[tuple[str, bool]]:
        """(word, is_prefix) for highlighting."""
        out: list[tuple[str, bool]] = []
        for clause in self.clauses:
            last = len(clause.words) - 1
            out.extend((w, clause.prefix and i == last) for i, w in enumerate(clause.words))
        return out


def _clause(chunk: str, *, phrase: bool) -> Clause | None:
    found = words(chunk)
    if not found:
        return None
    prefix = not phrase and chunk.endswith("*") and len(found[-1]) >= MIN_PREFIX
    return Clause(tuple(found), prefix)


def parse_query(text: str, *, match_all: bool = True) -> SearchQuery:
    """Parse what a user typed. Never raises; a text with no words gives an empty query."""
    text = normalize(text).translate(QUOTES)
    if text.count('"') % 2:  # an unbalanced quote is just a character
        text = text.replace('"', " ")
    clauses: list[Clause] = []
    for match in CHUNK.finditer(text):
        clause = _clause(match.group(1) if match.group(1) is not None else match.group(2), phrase=bool(match.group(1)))
        if clause is not None and clause not in clauses:
            clauses.append(clause)
    meaningful = [c for c in clauses if not _is_stopword(c)]
    # "how to reset the password" searches reset+password; a query of only stopwords is kept as typed
    return SearchQuery(tuple((meaningful or clauses)[:MAX_CLAUSES]), match_all)


def any_of(terms: list[str]) -> SearchQuery:
    """A query matching any of ``terms`` (already significant words), ranked by how many and how well."""
    clauses: list[Clause] = []
    for term in terms:
        for word in words(term):
            if Clause((word,)) not in clauses:
                clauses.append(Clause((word,)))
    return SearchQuery(tuple(clauses[:MAX_CLAUSES]), match_all=False)


def _is_stopword(clause: Clause) -> bool:
    return len(clause.words) == 1 and not clause.prefix and clause.words[0] in STOPWORDS


def fts5_match(query: SearchQuery) -> str:
    """The FTS5 MATCH expression: every word a quoted string, so FTS5 sees no operator of the user's."""
    parts = []
    for clause in query.clauses:
        phrase = " ".join(clause.words).replace('"', '""')
        parts.append(f'"{phrase}"' + ("*" if clause.prefix else ""))
    return (" AND " if query.match_all else " OR ").join(parts)


def tsquery(query: SearchQuery) -> str:
    """The text for PostgreSQL ``to_tsquery('simple', ...)``: quoted lexemes joined by & | <->."""
    parts = []
    for clause in query.clauses:
        lexemes = [f"'{w}'" for w in clause.words]
        if clause.prefix:
            lexemes[-1] += ":*"
        parts.append(lexemes[0] if len(lexemes) == 1 else "(" + " <-> ".join(lexemes) + ")")
    return (" & " if query.match_all else " | ").join(parts)
