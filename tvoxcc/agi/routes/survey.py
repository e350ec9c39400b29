"""`survey`: a post-call NPS survey stored as an ``NpsAnswer`` against the call's interaction and agent.

``AGI(agi://host/survey[,INTERACTION[,QUESTIONS]])``. INTERACTION is an interaction id (digits) or the
caller's channel id; without it the channel's own uniqueid is used, then CHANNEL(linkedid) — the voice
service stores ``Interaction.external_id`` = the caller's channel id, so a caller sent on to
tvoxcc-survey after the agent hangs up is found without arguments. QUESTIONS is 1 (default) or 2.

One key per answer, so a caller never waits for an inter-digit timeout: ``0``–``9`` are scores 0–9 and
``*`` is 10. No key within the timeout, or any other key, re-asks once (after the "invalid" sound);
a second failure ends the survey without storing that answer. The first score is stored at once,
so a caller hanging up during the second question still counts.

Prompts: the tenant's ``survey-question``, ``survey-question-2`` and ``survey-thanks`` prompts when it
has them (`tvoxcc prompts set`), else Asterisk sounds (a beep, then auth-thankyou).
TVOXCC_SURVEY is ``stored``, ``no-answer``, ``duplicate`` (already answered) or ``error``
(no such interaction); TVOXCC_NPS is the first score.
"""

from __future__ import annotations

import logging

from tvoxcc.agi.request import AgiRequest
from tvoxcc.agi.routes._common import RouteInputError, arg, shown
from tvoxcc.agi.routes.store import CallStore, InteractionRef
from tvoxcc.agi.server import Handler

log = logging.getLogger(__name__)

ANSWER_TIMEOUT_MS = 6000
DEFAULT_SOUNDS = {"survey-question": "beep", "survey-question-2": "beep", "survey-thanks": "auth-thankyou"}
INVALID = "invalid"


def score_of(keys: str) -> int | None:
    """The score a key stands for: ``0``–``9`` as is, ``*`` for 10; None for anything else."""
    if keys == "*":
        return 10
    if len(keys) == 1 and keys.isdigit():
        return int(keys)
    return None


async def ask(request: AgiRequest, prompt: str) -> int | None:
    """Ask once, re-ask once on no/bad input; None after two failures."""
    for attempt in range(2):
        sound = prompt if attempt == 0 else f"{INVALID}&{prompt}"
        score = score_of(await request.get_data(sound, ANSWER_TIMEOUT_MS, 1))
        if score is not None:
            return score
    return None


async def find_interaction(request: AgiRequest, calls: CallStore) -> InteractionRef | None:
    given = arg(request, 0)
    if given:
        if given.isdigit() and len(given) < 19:
            return await calls.interaction(interaction_id=int(given))
        return await calls.interaction(channel_id=given[:255])
    found = await calls.interaction(channel_id=request.uniqueid)
    if found is None:
        linked = await request.get_variable("CHANNEL(linkedid)")
        if linked and linked != request.uniqueid:
            found = await calls.interaction(channel_id=linked)
    return found


def survey_route(calls: CallStore) -> dict[str, Handler]:
    async def sound(ref: InteractionRef, name: str) -> str:
        tenant_prompt = await calls.prompt(ref.tenant_id, ref.tenant, ref.language, name)
        return tenant_prompt or DEFAULT_SOUNDS[name]

    async def survey(request: AgiRequest) -> None:
        questions = 2 if arg(request, 1) == "2" else 1
        ref = await find_interaction(request, calls)
        if ref is None:
            await request.set_variable("TVOXCC_SURVEY", "error")
            raise RouteInputError(f"no interaction for {shown(arg(request, 0) or request.uniqueid)}")
        if await calls.answered(ref):
            log.info("survey: interaction %d already answered", ref.id)
            await request.set_variable("TVOXCC_SURVEY", "duplicate")
            return
        await request.answer()
        score = await ask(request, await sound(ref, "survey-question"))
        if score is None:
            log.info("survey: no valid answer for interaction %d", ref.id)
            await request.set_variable("TVOXCC_SURVEY", "no-answer")
            await request.stream_file("goodbye")
            return
        answer_id = await calls.save_nps(ref, score)
        await request.set_variable("TVOXCC_NPS", str(score))
        await request.set_variable("TVOXCC_SURVEY", "stored")
        if questions == 2:
            second = await ask(request, await sound(ref, "survey-question-2"))
            if second is not None:
                await calls.set_second_score(ref, answer_id, second)
        await request.stream_file(await sound(ref, "survey-thanks"))

    return {"survey": survey}
