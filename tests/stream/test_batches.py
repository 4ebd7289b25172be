"""take_batches through Faust's test context: where a batch ends, and when its
events are acknowledged. `last_known` stands in for the consumer's high watermark,
which a test context does not have: here an event is the last known when its value
says so."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import faust

from streams.stream.batches import take_batches

LONG = 60.0
"""A wait no test reaches: a batch that ends early ended for its own reason."""


class Taker:
    """An app with one agent taking batches of the values put to it."""

    def __init__(self, max_: int = 100, longest: float = LONG, quiet: float = LONG) -> None:
        self.app = faust.App(
            "batches-test", broker="kafka://localhost:1", store="memory://", autodiscover=False
        )
        self.batches: list[list[str]] = []
        self.unacked_while_read: list[bool] = []
        self.got = asyncio.Condition()

        @self.app.agent(self.app.channel(), name="taker")
        async def taker(stream: faust.StreamT[Any]) -> AsyncIterator[None]:
            async for batch in take_batches(
                stream, max_, longest, quiet=quiet, last_known=lambda e: e.value.endswith("!")
            ):
                self.unacked_while_read.append(not any(e.message.acked for e in batch))
                self.batches.append([e.value for e in batch])
                async with self.got:
                    self.got.notify_all()
                yield None

        self.agent = taker

    async def batches_of(self, *groups: list[str]) -> list[list[str]]:
        """Puts each group at once, the next when all of it has come out."""
        put = 0
        async with self.agent.test_context() as agent:
            for group in groups:
                put += len(group)
                await asyncio.gather(*(agent.put(v, wait=False) for v in group))
                async with self.got:
                    await asyncio.wait_for(
                        self.got.wait_for(lambda n=put: sum(map(len, self.batches)) == n),
                        timeout=10,
                    )
        return self.batches


def test_a_batch_waits_for_the_last_known_event() -> None:
    """Events behind a later one known are not a batch yet, whatever came in between."""

    async def run() -> list[list[str]]:
        taker = Taker()
        async with taker.agent.test_context() as agent:
            await asyncio.gather(agent.put("a", wait=False), agent.put("b", wait=False))
            for _ in range(50):
                await asyncio.sleep(0.001)
            assert taker.batches == []
            await agent.put("c!", wait=False)
            async with taker.got:
                await asyncio.wait_for(taker.got.wait_for(lambda: taker.batches), timeout=10)
        return taker.batches

    assert asyncio.run(run()) == [["a", "b", "c!"]]


def test_a_caught_up_event_is_a_batch_of_its_own_at_once() -> None:
    assert asyncio.run(Taker().batches_of(["x!"], ["y!"])) == [["x!"], ["y!"]]


def test_a_batch_holds_at_most_max_events() -> None:
    batches = asyncio.run(Taker(max_=3).batches_of(["a", "b", "c", "d", "e", "f!"]))
    assert batches == [["a", "b", "c"], ["d", "e", "f!"]]


def test_a_batch_waits_no_longer_than_the_longest_wait() -> None:
    assert asyncio.run(Taker(longest=0.01).batches_of(["a"], ["b"])) == [["a"], ["b"]]


def test_a_batch_ends_when_nothing_more_comes_for_a_while() -> None:
    """Later records known but not coming (not fetched yet, or fetched and held up):
    the batch goes after `quiet`, long before `longest`."""
    assert asyncio.run(Taker(quiet=0.01).batches_of(["a", "b"], ["c"])) == [["a", "b"], ["c"]]


def test_events_are_acknowledged_once_their_batch_is_done() -> None:
    async def run() -> tuple[list[bool], list[Any]]:
        taker = Taker()
        events: list[Any] = []
        async with taker.agent.test_context() as agent:
            for value in ("a!", "b!"):
                events.append(await agent.put(value, wait=False))
                async with taker.got:
                    await asyncio.wait_for(
                        taker.got.wait_for(lambda: len(taker.batches) == len(events)), timeout=10
                    )
        return taker.unacked_while_read, events

    unacked_while_read, events = asyncio.run(run())
    assert unacked_while_read == [True, True]
    assert [e.message.acked for e in events] == [True, True]
