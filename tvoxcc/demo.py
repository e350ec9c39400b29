"""`tvoxcc demo`: the whole main host on one machine, end to end, on the embedded SQLite store.

A real Asterisk 22 (the lab), the demo tenant imported from demo/acme.yaml with its IVR and prompts
rendered to audio, the voice service with the ACD, an agent phone (sipp) that registers and answers,
and a caller (sipp) who walks the IVR by DTMF to the agent; it prints the call's journey. A second caller asks
to be called back: once the agent is free the customer (a sipp phone behind the tenant's PJSIP trunk) is
dialled and bridged to the agent. A customer's text (SIP MESSAGE) becomes an SMS chat the agent answers
(tvoxcc.demo_sms), and the caller opens a web chat Mario answers on his desktop (tvoxcc.demo_webchat). Then a
customer's
mail, through a real Dovecot, becomes a support ticket with its acknowledgement (tvoxcc.demo_mail), and a
campaign takes its contact list (tvoxcc.demo_campaign). The address book is imported from demo/contacts.csv
first; at the end that mail's sender is exported and erased (tvoxcc.demo_contacts).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from tvoxcc.admin.edit import import_document
from tvoxcc.asterisk.from_store import render_input_from_store
from tvoxcc.cli.tenant_io import parse_document
from tvoxcc.config import Settings, load_settings
from tvoxcc.demo_campaign import campaign_takes_a_list
from tvoxcc.demo_contacts import contacts_imported, customer_exported_and_erased
from tvoxcc.demo_dialout import agent_dials_out
from tvoxcc.demo_hierarchy import hierarchy_and_dispositions
from tvoxcc.demo_kb import kb_suggests_articles
from tvoxcc.demo_mail import agent_answers, mail_becomes_ticket
from tvoxcc.demo_nodes import render_deployment
from tvoxcc.demo_preview import agent_previews_a_record
from tvoxcc.demo_recordings import recordings_and_audit
from tvoxcc.demo_scripts import script_guides_the_call
from tvoxcc.demo_sms import sms_answered
from tvoxcc.demo_webchat import webchat_answered
from tvoxcc.insight.api import day_summary
from tvoxcc.interactions import Direction
from tvoxcc.ivr.prompts import prompt_path, render_prompt
from tvoxcc.journey.api import reliability_of_days, screen_pop_for
from tvoxcc.journey.render import pop_text
from tvoxcc.lab.config import write_lab_config
from tvoxcc.lab.lab import Lab
from tvoxcc.lab.sipp import Sipp, SippAgent, caller_scenario, free_udp_port
from tvoxcc.recordings.repository import Repository
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.migrate import upgrade
from tvoxcc.voice.acd import AcdQueue
from tvoxcc.voice.app import VoiceApp
from tvoxcc.voice.callback_admin import list_callbacks
from tvoxcc.voice.callback_status import CallbackStatus
from tvoxcc.voice.service import main_host

DEMO_TENANT = Path(__file__).resolve().parents[1] / "demo" / "acme.yaml"
DID = "+390299990000"
AGENT = ("mario", "demo-mario-1")
# Router clock values in event data: noise in a printed journey.
ROUTER_TIMES = ("router_at", "value", "arrived_at", "queued_at")


class Demo:
    def __init__(self, base: Path, cache_dir: Path, say: Callable[[str], None]) -> None:
        self.base = base
        self.say = say
        base.mkdir(parents=True, exist_ok=True)
        base.chmod(0o755)  # Asterisk drops to its own user inside the lab
        for stale in ("tvoxcc.db", "tvoxcc.db-wal", "tvoxcc.db-shm", "data", "customer-export.zip"):
            path = base / stale
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
        self.config = write_lab_config(base, base / "lab", cache_dir)
        self.settings: Settings = load_settings(self.config)
        self.store = Store.from_url(self.settings.database.url.get_secret_value())
        self.lab = Lab(self.settings, base / "lab", say=say)
        self.caller_contact = (0, 0)  # (tenant id, contact id) of the demo caller, once stored
        self.customer_port = free_udp_port()  # the callback customer's phone, behind the trunk acme-pstn

    async def run(self) -> None:
        started = time.monotonic()
        self.say(f"demo: config {self.config} (SQLite store {self.base / 'tvoxcc.db'})")
        await asyncio.to_thread(upgrade, self.settings.database.url.get_secret_value())
        doc = parse_document(DEMO_TENANT.read_text(), str(DEMO_TENANT))
        if doc.outbound is not None and doc.outbound.trunk is not None:
            doc.outbound.trunk.port = self.customer_port
        await import_document(self.store, doc)
        self.say("demo: tenant 'acme' imported (services, queue, agents, prompts, IVR)")
        await self._address_book()
        await contacts_imported(self.store, self.say)
        inp = await render_input_from_store(self.settings, caller_endpoint="caller")
        render_deployment(inp, self.base / "deploy", self.say)
        await asyncio.to_thread(self.lab.up, inp)
        await self._render_prompts()
        try:
            await self._call()
            await webchat_answered(self.store, "acme", AGENT[0], self.say)
            await mail_becomes_ticket(self.store, self.say)
            await kb_suggests_articles(self.store, self.say)
            await agent_answers(self.store, self.say)
            await recordings_and_audit(self.store, self.settings, self.base, self.say)
            await campaign_takes_a_list(self.store, self.say)
            await script_guides_the_call(self.store, self.say)
            await hierarchy_and_dispositions(self.store, self.say, datetime.now(UTC))
            await agent_previews_a_record(self.store, self.say)
            await self._insight()
            await customer_exported_and_erased(
                self.store, self.say, out=self.base / "customer-export.zip",
                recordings_dir=self.settings.asterisk.recordings_dir, repository=Repository.of(self.settings),
                data_dir=self.settings.data_dir,
            )  # fmt: skip
        finally:
            await asyncio.to_thread(self.lab.down)
            await self.store.dispose()
        self.say(f"demo: done in {time.monotonic() - started:.1f} s")

    async def _insight(self) -> None:
        today = datetime.now(ZoneInfo("Europe/Rome")).date()  # the demo tenant's time zone
        self.say("")
        self.say(await day_summary(self.store, "acme", today))
        self.say((await reliability_of_days(self.store, "acme", today, today)).line())
        self.say("Reports: tvoxcc insight report -t acme --from TODAY --by queue --format table|csv|json|html")
        web = self.settings.web
        self.say(f"Wallboard: http://{web.host}:{web.port}/wallboard/acme (serve it: tvoxcc -c {self.config} web run)")
        contact = self.caller_contact[1]
        self.say(f"Journey API: http://{web.host}:{web.port}/api/tenants/acme/contacts/{contact}/journey (and /pop)")

    async def _render_prompts(self) -> None:
        async with self.store.session() as session:
            rows = (await session.execute(select(m.Prompt.name, m.Prompt.language, m.Prompt.text))).all()
        for name, language, text in rows:
            await asyncio.to_thread(
                render_prompt, text, language, prompt_path(self.settings.asterisk.sounds_dir, "acme", language, name)
            )
        self.say(f"demo: {len(rows)} prompts rendered to 8 kHz audio with espeak-ng")

    async def _call(self) -> None:
        ast = self.settings.asterisk
        sipp = Sipp(ast.sip_host, ast.sip_port)
        async with main_host(self.settings, self.store) as app:
            try:
                self.say("demo: voice service connected to Asterisk (ARI app 'tvoxcc')")
                agent = SippAgent(sipp, f"acme-{AGENT[0]}", AGENT[1])
                await asyncio.to_thread(agent.register().check)
                answering = agent.answer(ring_ms=1000)
                await asyncio.sleep(0.5)
                self.say("demo: agent mario's phone registered (PJSIP acme-mario) and is logged in to sales-it")
                self.say(f"demo: a caller dials {DID}, hears the menu, presses 2, enters customer code 123")
                self.say("demo: the IVR's set node asks english >= 5 of the agent for it (mario has 5, anna none)")
                scenario = caller_scenario(DID, "2123", wait_ms=2500, gap_ms=700, hold_ms=6000, hangup="us")
                caller = sipp.start(scenario, service=DID)
                await asyncio.to_thread(caller.wait, 60)
                caller.check()
                await asyncio.to_thread(answering.wait, 15)
                await asyncio.sleep(1.0)
                await self._callback(app, sipp, agent)
                phone = (f"acme-{AGENT[0]}", AGENT[1])
                await agent_dials_out(app, sipp, self.store, phone, self.customer_port, self.say)
                await self._live_change(app)
                await sms_answered(self.store, sipp, DID, AGENT[0], self.say)
            finally:
                sipp.cleanup()
        await self._journey()
        await self._callback_outcome()

    async def _callback(self, app: VoiceApp, sipp: Sipp, agent: SippAgent) -> None:
        self.say("demo: a second caller presses 3 ('call me back') and hangs up; mario is in wrap-up")
        customer = sipp.answer("customer", port=self.customer_port, ring_ms=1000)
        # A short last gap: the thank-you is brief and a BYE during a sipp pause is "unexpected" for sipp.
        scenario = caller_scenario(DID, "3", wait_ms=2500, gap_ms=50, hangup="them", bye_timeout_ms=30000)
        (await asyncio.to_thread(sipp.start(scenario, service=DID).wait, 40)).check()
        answering = agent.answer(ring_ms=1000)
        acd = app.handoff
        assert isinstance(acd, AcdQueue)
        deadline = time.monotonic() + 30
        while not any(leg.answered for leg in acd.legs.values()):
            if time.monotonic() > deadline:
                raise RuntimeError("the callback never reached the agent")
            await asyncio.sleep(0.2)
        leg = next(leg for leg in acd.legs.values() if leg.answered)
        self.say("demo: the customer was dialled through trunk acme-pstn, answered, and is talking to mario")
        await asyncio.sleep(2.0)
        await app.ari.channels.hangup(leg.channel_id)  # mario hangs up
        (await asyncio.to_thread(customer.wait, 15)).check()
        await asyncio.to_thread(answering.wait, 15)

    async def _live_change(self, app: VoiceApp) -> None:
        """A supervisor changes a skill with the CLI while calls are served: the running ACD takes it."""
        acd = app.handoff
        assert isinstance(acd, AcdQueue)
        command = [sys.executable, "-m", "tvoxcc", "-c", str(self.config), "agent", "set", "-t", "acme", "anna"]
        started = time.monotonic()
        await asyncio.to_thread(subprocess.run, [*command, "--skill", "english=7"], check=True, capture_output=True)
        while (anna := acd.service.agent_view("acme-anna")) is None or anna.skills.get("english") != 7:
            if time.monotonic() - started > 3 * acd.config_poll_s:
                raise RuntimeError("the running ACD did not take the new skill")
            await asyncio.sleep(0.1)
        self.say(
            "demo: `tvoxcc agent set -t acme anna --skill english=7` while the voice service runs: the ACD took it"
            f" live in {time.monotonic() - started:.1f} s, no restart"
        )

    async def _callback_outcome(self) -> None:
        async with self.store.session() as session:
            row = (await session.execute(select(m.Callback))).scalars().first()
            placed = await session.get(m.Interaction, row.placed_as_id) if row and row.placed_as_id else None
            agent = await session.get(m.Agent, placed.agent_id) if placed and placed.agent_id else None
        if row is None or placed is None:
            raise RuntimeError("the demo callback was not placed")
        self.say(
            f"Callback to {row.number}: {row.status} after {row.attempts} attempt(s), answered by"
            f" {agent.display_name if agent else 'nobody'} (outbound interaction {placed.id}: {placed.outcome})"
        )
        for cb in await list_callbacks(self.store, "acme", set(CallbackStatus)):
            self.say(f"  tvoxcc callback list -t acme --all: #{cb.id} {cb.number} {cb.queue} {cb.status}")

    async def _journey(self) -> None:
        async with self.store.session() as session:
            first_call = select(m.Interaction).where(
                m.Interaction.direction == Direction.INBOUND, m.Interaction.agent_id.is_not(None)
            )
            interaction = (await session.execute(first_call.order_by(m.Interaction.id))).scalars().first()
            if interaction is None:
                raise RuntimeError("the demo call left no interaction in the store")
            events = (
                (
                    await session.execute(
                        select(m.InteractionEvent)
                        .where(m.InteractionEvent.interaction_id == interaction.id)
                        .order_by(m.InteractionEvent.id)
                    )
                )
                .scalars()
                .all()
            )
            agent = await session.get(m.Agent, interaction.agent_id) if interaction.agent_id else None
            total = (await session.execute(select(func.count()).select_from(m.Interaction))).scalar_one()
        start = interaction.offered_at
        self.say("")
        self.say(f"Journey of call {interaction.external_id} from {interaction.from_address}:")
        for event in events:
            detail = ", ".join(f"{k}={v}" for k, v in event.data.items() if k not in ROUTER_TIMES and v)
            self.say(f"  +{(event.at - start).total_seconds():5.1f} s  {event.kind:<16} {detail}")
        talked = (
            (interaction.ended_at - interaction.answered_at).total_seconds()
            if interaction.answered_at and interaction.ended_at
            else 0
        )
        self.say(
            f"Outcome: {interaction.outcome}; answered by {agent.display_name if agent else 'nobody'}"
            f" after {(interaction.answered_at - start).total_seconds() if interaction.answered_at else 0:.1f} s,"
            f" talked {talked:.1f} s. Interactions stored: {total}."
        )
        queue_log = self.settings.data_dir / "queue_log"
        if queue_log.exists():
            self.say(f"queue_log ({queue_log}):")
            for line in queue_log.read_text().splitlines():
                self.say(f"  {line}")
        if interaction.agent_id is None:
            raise RuntimeError("the demo call did not reach the agent")
        await self._screen_pop()

    async def _address_book(self) -> None:
        """The caller is a customer: the lab's caller presents its SIP user ("caller") as its number."""
        async with self.store.session() as session:
            tenant = (await session.execute(select(m.Tenant).where(m.Tenant.name == "acme"))).scalar_one()
            contact = m.Contact(tenant_id=tenant.id, display_name="Carla Bianchi", company="Bianchi Srl")
            contact.phones.append(m.ContactPhone(tenant_id=tenant.id, number="caller"))
            session.add(contact)
            await session.commit()
            self.caller_contact = (tenant.id, contact.id)

    async def _screen_pop(self) -> None:
        tenant_id, contact_id = self.caller_contact
        async with self.store.tenant(tenant_id) as session:
            pop = await screen_pop_for(session, str(contact_id))
        self.say("")
        self.say("Customer Journey summary (the screen pop): tvoxcc journey summary -t acme " + str(contact_id))
        for line in pop_text(pop, ZoneInfo("Europe/Rome")).splitlines():
            self.say(f"  {line}")


def run_demo(base: Path, cache_dir: Path, say: Callable[[str], None]) -> None:
    demo = Demo(base, cache_dir, say)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(demo.run())
