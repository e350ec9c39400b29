"""Words too common to search for or to suggest articles by (English and Italian, the demo's languages)."""

from __future__ import annotations

ENGLISH = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between
    both but by can cannot could did do does doing down during each few for from further had has have having he
    her here hers him his how i if in into is it its itself just let me more most my no nor not now of off on once
    only or other our ours out over own same she should so some such than that the their them then there these
    they this those through to too under until up very was we were what when where which while who whom why will
    with would you your yours hello hi dear thanks thank please regards best kind get got yet still also""".split()  # noqa: SIM905
)

ITALIAN = frozenset(
    """a ad al alla alle agli ai anche ancora che chi ci come con cui da dal dalla dei del della delle degli di
    dove e ed era essere fa fino gli ha hanno ho i il in io la le lei li lo loro lui ma me mi mio mia ne nei nel
    nella non noi o per perché più poi quale quando quello questa questo se sei si sia siamo sono su sua suo sul
    sulla ti tra tu tutto un una uno vi voi buongiorno buonasera ciao grazie saluti cordiali gentile""".split()  # noqa: SIM905
)

STOPWORDS = ENGLISH | ITALIAN
