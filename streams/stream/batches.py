"""An agent's input in batches: large from a backlog, one line at a time when caught up.

Faust's `Stream.take_events(max_, within)` waits the whole `within` for every batch.
A short wait keeps a line's latency low but makes a backlog run in batches of a few
lines, and a batch has fixed costs (its sends, its table writes: `ModelTable.batched`):
on the embedded broker a 5 ms wait gave batches of about 5 lines from a backlog, and
a 50 ms one batches of about 100 at half the worker's CPU a line. A long wait, though, is
added to every line when traffic is light.

`take_batches` ends a batch at an event that is the last record of its partition
the consumer knows of (its high watermark), when no record has come for `quiet`
seconds, when it holds `max_` events, or at the latest `longest` seconds after its
first event. A line at a steady rate, the latest record when it arrives, goes
straight through; a backlog, whose records keep coming, runs in large batches.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import faust
from faust.exceptions import ConsumerNotStarted
from faust.types import ConsumerT, EventT
from mode.utils.futures import notify

QUIET_S = 0.005
"""A batch also ends when no record has come for this long, although later ones are
known: the consumer may have fetched them and not handed them over yet, or known of
them and not fetched them. Faust's `take_events` waited this long for every batch."""


def caught_up(consumer: ConsumerT) -> Callable[[EventT[Any]], bool]:
    """Whether an event is the last record of its partition the consumer knows of: its
    offset is the last below the high watermark of the consumer's latest fetch."""

    def last_known(event: EventT[Any]) -> bool:
        message = event.message
        try:
            highwater = consumer.highwater(message.tp)
        except ConsumerNotStarted:  # an agent's test context, fed by hand
            return True
        return highwater is None or message.offset + 1 >= highwater

    return last_known


async def take_batches(
    stream: faust.StreamT[Any],
    max_: int,
    longest: float,
    *,
    quiet: float = QUIET_S,
    last_known: Callable[[EventT[Any]], bool] | None = None,
) -> AsyncIterator[list[EventT[Any]]]:
    """Faust's `take_events` (each batch acknowledged once the agent is done with it),
    with a batch ended as soon as its latest event is the last one known
    (`last_known`, by default `caught_up` on the app's consumer), or when no event
    has come for `quiet` seconds."""
    s: Any = stream  # the processors, passive reading and acks are Stream's, not StreamT's
    if last_known is None:
        last_known = caught_up(s.app.consumer)
    events: list[EventT[Any]] = []
    arrived = asyncio.Event()  # the batch has its first event
    ready = asyncio.Event()  # the last event known is in, or the batch is full
    consumed = asyncio.Event()
    consuming: asyncio.Future[None] | None = None
    channel = aiter(s.channel)  # the agent's own channel (an iterator already)

    async def add(value: Any) -> Any:
        nonlocal consuming
        try:
            if consuming is not None:  # the agent is reading the batch: wait for it
                try:
                    await consuming
                finally:
                    consuming = None
            event = s.current_event
            if event is None:
                raise RuntimeError("take_batches found no current event")
            events.append(event)
            arrived.set()
            if len(events) >= max_:
                ready.set()
                consumed.clear()
                await s.wait(consumed)  # never more than max_ in a batch
            elif last_known(event):
                ready.set()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            s.log.exception("Error adding to batch: %r", exc)
            await s.crash(exc)
        return value

    acks = s.enable_acks
    s.enable_acks = False  # each event acknowledged once its batch is done
    s.add_processor(add)
    s._enable_passive(channel)  # private: tests/test_private_api.py
    try:
        while not s.should_stop:
            await s.wait_for_stopped(arrived)
            started = time.monotonic()
            while not ready.is_set() and not s.should_stop:
                waited = time.monotonic() - started
                if waited >= longest:
                    break
                seen = len(events)
                await s.wait_for_stopped(ready, timeout=min(quiet, longest - waited))
                if len(events) == seen:  # nothing came for a while: take what is here
                    break
            if not events:
                continue
            consuming = asyncio.get_running_loop().create_future()
            try:
                yield list(events)
            finally:
                batch = list(events)
                events.clear()
                arrived.clear()
                ready.clear()
                for event in batch:
                    await s.ack(event)
                notify(consuming)
                consumed.set()
    finally:
        s.enable_acks = acks
        s._processors.remove(add)  # private: tests/test_private_api.py
