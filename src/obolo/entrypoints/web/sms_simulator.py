"""The SMS simulator: a phone on a page, for trying SMS commands in a demo.

Here anyone may type as any number and read what was texted to it, so every route of this
router is a 404 unless the server was started for a demo (`obolo serve --demo`) without a
gateway secret (`Settings.serves_sms_simulator`), decided before anything is read. A
message goes through the same `SmsService.receive` as the gateway's webhook; the page shows
the number's whole thread: what was typed as it, the replies, and what the console gateway
sent to it, nothing else of anyone's. Threads live in the server's memory (a demo's), a
bounded number of messages per number and of numbers.

The page speaks the visitor's language like every page; the texts in the thread are in the
language of the number's account, as the phone would get them.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape
from starlette.concurrency import run_in_threadpool

from obolo.adapters.ids import new_id
from obolo.adapters.sms_gateway import ConsoleSmsGateway
from obolo.bootstrap import Platform
from obolo.entrypoints.api.auth import PlatformDep
from obolo.entrypoints.demo import PEOPLE, SMS_PINS
from obolo.entrypoints.web.context import Visitor, render, visitor
from obolo.money import EUR, Amount
from obolo.sms.model import normalize_phone
from obolo.sms.service import Inbound


def demo_only(platform: PlatformDep) -> None:
    """Outside a demo the simulator does not exist (a 404 like any unknown path)."""
    if not platform.settings.serves_sms_simulator:
        raise HTTPException(404, "Not Found")


# On the router, not per route: a route added here later is off outside a demo as well.
router = APIRouter(include_in_schema=False, dependencies=[Depends(demo_only)])
# What a person types that holds a PIN is shown back masked: a bare PIN, OK <PIN>, PIN <old> <new>.
_SECRET = re.compile(r"^\s*(?:ok\s+|pin\s+)?[0-9]{4,6}(?:\s+[0-9]{4,6})?\s*$", re.IGNORECASE)


def _console(platform: Platform) -> ConsoleSmsGateway:
    gateway = platform.sms_gateway
    if not isinstance(gateway, ConsoleSmsGateway):  # a demo with OBOLO_SMS_GATEWAY_URL set
        raise HTTPException(404, "Not Found")
    return gateway


@dataclass(frozen=True, slots=True)
class Bubble:
    text: str
    typed: bool  # True: typed as the number; False: from Obolo (a reply or a text sent to it)


@dataclass(slots=True)
class Thread:
    bubbles: list[Bubble] = field(default_factory=list)
    delivered: int = 0  # how many of the console gateway's texts to the number are in `bubbles`


class Threads:
    """Each simulated number's conversation, oldest first, in memory."""

    MESSAGES = 60
    NUMBERS = 200

    def __init__(self) -> None:
        self._threads: OrderedDict[str, Thread] = OrderedDict()
        self._lock = threading.Lock()

    def follow(self, phone: str, delivered: list[str], *exchange: Bubble) -> list[Bubble]:
        """Add the texts the gateway delivered since the last look, then `exchange`; the thread."""
        with self._lock:
            thread = self._threads.pop(phone, None) or Thread()
            self._threads[phone] = thread  # the most recent last; the oldest number goes first
            while len(self._threads) > self.NUMBERS:
                self._threads.popitem(last=False)
            thread.bubbles += [Bubble(text, typed=False) for text in delivered[thread.delivered :]]
            thread.delivered = len(delivered)
            thread.bubbles += exchange
            del thread.bubbles[: -self.MESSAGES]
            return list(thread.bubbles)


def _threads(request: Request) -> Threads:
    state = request.app.state
    if not hasattr(state, "sms_threads"):
        state.sms_threads = Threads()
    threads: Threads = state.sms_threads
    return threads


def _masked(typed: str) -> str:
    return "•" * 4 if _SECRET.match(typed) else typed


def _page(page: Visitor, phone: str, thread: list[Bubble], notice: str | None = None) -> HTMLResponse:
    def said(text: str, **commands: str) -> Markup:
        """A sentence in the page's language with commands shown as code: the sentence is
        escaped, then each command put in its place, escaped in its <code>."""
        codes = {name: Markup("<code>{}</code>").format(command) for name, command in commands.items()}
        return Markup(escape(page.t(text))).format(**codes)  # noqa: S704 (escaped just here)

    people = [(name, number, pin) for (_, name, number), pin in zip(PEOPLE, SMS_PINS, strict=True)]
    example = page.number(Amount.parse("1.50", EUR).units, "EUR")  # as the reader writes it: 1,50 in Italian
    return render(page, "sms/simulator.html", phone=phone, thread=thread, notice=notice, people=people,
                  said=said, example=example)  # fmt: skip


@router.get("/sms/simulator", response_class=HTMLResponse)
def simulator(request: Request, platform: PlatformDep, phone: str = "") -> HTMLResponse:
    console = _console(platform)
    page = visitor(request)
    number = normalize_phone(phone) if phone else None
    if number is None:
        return _page(page, phone[:20], [])
    return _page(page, number, _threads(request).follow(number, console.sent_to(number)))


@router.post("/sms/simulator", response_class=HTMLResponse)
async def simulate(request: Request, platform: PlatformDep) -> HTMLResponse:
    console = _console(platform)
    page = visitor(request)
    form = dict(parse_qsl((await request.body()).decode("utf-8", errors="replace"), keep_blank_values=True))
    phone, body = form.get("phone", "")[:32], form.get("body", "")[:480]
    number = normalize_phone(phone)
    if number is None:
        return _page(page, phone, [], page.t("Write the number with its country code, e.g. +393331234567."))
    threads = _threads(request)
    threads.follow(number, console.sent_to(number))  # what came before this message, in its place
    message = Inbound(sid=f"sim-{new_id()}", sender=number, to="simulator", body=body)
    reply = await run_in_threadpool(platform.sms.receive, message)
    exchange = (Bubble(_masked(body), typed=True), Bubble(reply.text, typed=False))
    return _page(page, number, threads.follow(number, console.sent_to(number), *exchange))
