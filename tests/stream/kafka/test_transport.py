"""The transport: Faust's aiokafka consumer and producer, with this project's changes."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from types import SimpleNamespace

from faust.types import TP

from streams.settings import Settings
from streams.stream.app import create_app
from streams.stream.kafka import transport


def test_worker_consumer_takes_the_fetch_wait_from_settings(tmp_path: Path) -> None:
    async def created_wait() -> int:
        app = create_app(Settings(_env_file=None, fetch_max_wait_ms=37, data_dir=tmp_path))
        thread = app.consumer._thread  # type: ignore[attr-defined]
        assert isinstance(thread, transport.ConsumerThread)
        assert isinstance(app.producer, transport.Producer)
        consumer = thread._create_worker_consumer(app.transport)
        wait: int = consumer._fetch_max_wait_ms
        await consumer.stop()
        return wait

    assert asyncio.run(created_wait()) == 37
    assert transport.FAUST_FETCH_MAX_WAIT_MS != 37


def consumer_with(
    tmp_path: Path,
    *,
    committed: int | None,
    fetched: range,
    acked: range,
    gap: range | None = None,
    compat: str = "kafka",
) -> tuple[transport.Consumer, TP]:
    """The worker's consumer holding one partition's bookkeeping as Faust leaves it."""
    app = create_app(Settings(_env_file=None, data_dir=tmp_path, broker_compat=compat))
    consumer = app.consumer
    assert isinstance(consumer, transport.Consumer)
    tp = TP("lines", 0)
    consumer._committed_offset[tp] = committed
    if committed is not None:
        consumer._floor[tp] = committed
    consumer._fetched[tp] = set(fetched)
    consumer._acked[tp] = list(acked)
    consumer._acked_index[tp] = set(acked)
    if gap is not None:
        consumer._gap[tp].addi(gap.start, gap.stop)
    return consumer, tp


def recording_seeks(consumer: transport.Consumer) -> list[tuple[TP, int]]:
    """Where the consumer seeks from now on, instead of seeking."""
    sought: list[tuple[TP, int]] = []

    async def seek(partition: TP, offset: int) -> None:
        sought.append((partition, offset))

    consumer.seek = seek  # type: ignore[method-assign]
    return sought


def test_a_commit_never_passes_records_fetched_but_not_processed(tmp_path: Path) -> None:
    """After a rebalance Faust took 104-132 for a gap in the log and dropped the
    records it fetched there; its own offset would be 141."""
    consumer, tp = consumer_with(
        tmp_path, committed=103, fetched=range(103, 141), acked=range(132, 141), gap=range(104, 133)
    )
    assert consumer._new_offset(tp) is None
    assert consumer._reread_due == {tp: 103}


def test_a_commit_stops_at_the_first_record_not_processed(tmp_path: Path) -> None:
    consumer, tp = consumer_with(
        tmp_path, committed=100, fetched=range(100, 141), acked=range(132, 141), gap=range(110, 133)
    )
    consumer._acked[tp] += list(range(100, 110))
    consumer._acked_index[tp] |= set(range(100, 110))
    assert consumer._new_offset(tp) == 110
    assert consumer._reread_due == {tp: 110}


def test_processed_records_are_committed_and_forgotten(tmp_path: Path) -> None:
    consumer, tp = consumer_with(
        tmp_path, committed=100, fetched=range(100, 121), acked=range(100, 110)
    )
    assert consumer._new_offset(tp) == 110
    assert consumer._fetched[tp] == set(range(110, 121))
    assert not consumer._reread_due


def test_offsets_that_never_arrive_do_not_hold_commits_back(tmp_path: Path) -> None:
    """Offset 103 is a transaction marker: the fetcher never hands it out."""
    consumer, tp = consumer_with(
        tmp_path, committed=103, fetched=range(104, 111), acked=range(104, 111)
    )
    assert consumer._new_offset(tp) == 111
    assert not consumer._reread_due


def test_a_gap_over_processed_records_does_not_slow_commits(tmp_path: Path) -> None:
    """Faust fills a gap into its acked list even where records were processed; the
    repeats end its run early, so each commit moved one offset (seen after rebalances)."""
    consumer, tp = consumer_with(
        tmp_path, committed=175, fetched=range(175, 191), acked=range(175, 191), gap=range(176, 181)
    )
    assert consumer._new_offset(tp) == 191


def test_records_fetched_again_below_the_commit_are_not_read_again(tmp_path: Path) -> None:
    """Faust sometimes hands out a committed record twice and drops the repeat; reading
    from there again would only repeat work, and a repeat could set it off again."""
    consumer, tp = consumer_with(
        tmp_path, committed=100, fetched=range(95, 111), acked=range(100, 111)
    )
    assert consumer._new_offset(tp) == 111
    assert not consumer._reread_due


def test_a_reread_ignores_the_rest_of_a_batch_fetched_before_its_seek(tmp_path: Path) -> None:
    """Records 141-150 were fetched before the seek back to 110: handed out after it,
    they would move Faust's read offset past 110 and Faust would drop the re-read."""
    consumer, tp = consumer_with(
        tmp_path, committed=100, fetched=range(100, 141), acked=range(132, 141), gap=range(110, 133)
    )
    consumer._acked[tp] += list(range(100, 110))
    consumer._acked_index[tp] |= set(range(100, 110))
    sought = recording_seeks(consumer)
    consumer.assignment = lambda: {tp}  # type: ignore[method-assign]
    assert consumer._new_offset(tp) == 110
    asyncio.run(consumer._read_skipped_again())
    assert sought == [(tp, 110)]
    stale = range(141, 151)
    assert [o for o in stale if consumer._fetched_before_reread(tp, o)] == list(stale)
    assert not consumer._fetched_before_reread(tp, 110)
    assert tp not in consumer._reread_started


def test_a_reread_under_way_is_not_started_again(tmp_path: Path) -> None:
    """Record 110 was dropped and 111-140 processed: Faust would commit 141 (a
    one-offset gap passes its check), so 110 is read again. Behind a backlog the
    agent first works through records it already held (111-120 again) while 110
    waits in line: the next commit must neither pass 110 nor seek it once more,
    which would start the re-read over and repeat its verdicts."""
    consumer, tp = consumer_with(
        tmp_path, committed=110, fetched=range(110, 141), acked=range(111, 141)
    )
    sought = recording_seeks(consumer)

    def processed_again(offsets: range) -> None:
        consumer._fetched[tp].add(110)  # the re-read's first record, handed out
        consumer._acked[tp] += list(offsets)
        consumer._acked_index[tp] |= set(offsets)

    consumer.assignment = lambda: {tp}  # type: ignore[method-assign]
    assert consumer._new_offset(tp) is None
    asyncio.run(consumer._read_skipped_again())
    assert sought == [(tp, 110)]
    processed_again(range(111, 121))
    assert consumer._new_offset(tp) is None
    assert not consumer._reread_due
    consumer._reread_sought[tp] = (110, time.monotonic() - transport.REREAD_PATIENCE_S - 1)
    processed_again(range(111, 121))
    assert consumer._new_offset(tp) is None
    assert consumer._reread_due == {tp: 110}, "a re-read that never arrived is sought again"


def test_records_dropped_below_a_commit_faust_holds_back_are_read_again(tmp_path: Path) -> None:
    """Seen after a kill -9 takeover: 94-406 fetched and dropped, 407 on processed.
    Faust commits nothing while its first acknowledged record is more than one past
    the last commit, so nothing would ever pass 94: the dropped records are read again,
    and sought again if the re-read does not arrive."""
    consumer, tp = consumer_with(
        tmp_path, committed=94, fetched=range(94, 420), acked=range(407, 420)
    )
    assert consumer._new_offset(tp) is None
    assert consumer._reread_due == {tp: 94}
    consumer._reread_due.clear()
    consumer._reread_sought[tp] = (94, time.monotonic())
    assert consumer._new_offset(tp) is None
    assert not consumer._reread_due, "a re-read under way is not started over"
    consumer._reread_sought[tp] = (94, time.monotonic() - transport.REREAD_PATIENCE_S - 1)
    assert consumer._new_offset(tp) is None
    assert consumer._reread_due == {tp: 94}


def test_records_in_flight_do_not_start_a_reread(tmp_path: Path) -> None:
    """Fetched records above every acknowledged one are on their way to the agent."""
    consumer, tp = consumer_with(
        tmp_path, committed=94, fetched=range(94, 140), acked=range(94, 120)
    )
    assert consumer._new_offset(tp) == 120
    assert not consumer._reread_due


def test_a_rereads_first_record_takes_fausts_read_offset_back(tmp_path: Path) -> None:
    """The seek back to 94 set Faust's read offset to 94; then the record the agent
    was taking (407) finished and set it to 407, past the whole re-read."""
    consumer, tp = consumer_with(tmp_path, committed=94, fetched=range(94, 420), acked=range(0))
    consumer._reread_started[tp] = (94, time.monotonic())
    consumer._read_offset[tp] = 407
    assert consumer._fetched_before_reread(tp, 408), "fetched before the seek: dropped"
    assert consumer._read_offset[tp] == 407
    assert not consumer._fetched_before_reread(tp, 94)
    assert consumer._read_offset[tp] == 94, "else Faust drops 94-407 as already read"
    assert tp not in consumer._reread_started


def test_records_faust_clears_from_the_agents_queues_are_read_again(tmp_path: Path) -> None:
    """Seen in the changelog restart test: line 2 of partition 0 was fetched after the
    seek and queued, and Faust emptied the queue when it resumed the agents; Faust's
    read offset was past it and no later record came to start a re-read."""
    consumer, tp = consumer_with(tmp_path, committed=1, fetched=range(1, 3), acked=range(1, 2))
    consumer.app.topics._acking_topics.add("lines")  # type: ignore[attr-defined]

    def queued(topic_partition: TP, offset: int) -> SimpleNamespace:
        return SimpleNamespace(message=SimpleNamespace(tp=topic_partition, offset=offset))

    async def resume() -> None:
        queue = consumer.app.FlowControlQueue(maxsize=8, clear_on_resume=True)
        processed, changelog = queued(tp, 1), queued(TP("history-changelog", 0), 5)
        for item in (processed, queued(tp, 2), changelog, queued(tp, 3)):
            queue.put_nowait(item)
        consumer.app.flow_control.resume()
        assert queue.empty()

    asyncio.run(resume())
    assert consumer._reread_due == {tp: 2}, "else line 2 is never answered"


def test_a_reread_whose_first_record_never_comes_stops_waiting(tmp_path: Path) -> None:
    consumer, tp = consumer_with(tmp_path, committed=100, fetched=range(100, 121), acked=range(0))
    consumer._reread_started[tp] = (100, time.monotonic() - transport.REREAD_GRACE_S - 1)
    assert not consumer._fetched_before_reread(tp, 140)
    assert tp not in consumer._reread_started


def reading(tmp_path: Path, last: int) -> tuple[transport.TansuConsumer, TP, list[tuple[TP, int]]]:
    """The worker's consumer for the embedded broker with records up to `last` handed
    to the agents, and a record of where it seeks."""
    consumer, tp = consumer_with(
        tmp_path,
        committed=100,
        fetched=range(100, last + 1),
        acked=range(100, last + 1),
        compat="tansu",
    )
    assert isinstance(consumer, transport.TansuConsumer)
    consumer._read_offset[tp] = last
    return consumer, tp, recording_seeks(consumer)


def handed_out(consumer: transport.TansuConsumer, tp: TP, offsets: range | list[int]) -> list[int]:
    """The offsets the consumer passes on, updating Faust's read offset as its loop does."""
    taken = []
    for offset in offsets:
        if not asyncio.run(consumer._past_a_jump(tp, offset)):
            taken.append(offset)
            consumer._read_offset[tp] = offset
    return taken


def test_a_jump_in_offsets_is_fetched_again_from_the_first_missing(tmp_path: Path) -> None:
    """The broker served 115-120 before 110-114, which another producer was storing."""
    consumer, tp, sought = reading(tmp_path, last=109)
    assert handed_out(consumer, tp, range(115, 121)) == []
    assert sought == [(tp, 110)]
    assert consumer._read_offset[tp] == 109, "Faust must take 110 as the next record"
    assert handed_out(consumer, tp, range(110, 121)) == list(range(110, 121))


def test_a_jump_seen_again_is_real_and_taken(tmp_path: Path) -> None:
    """On Kafka, 110-114 may be transaction markers: the second fetch starts at 115."""
    consumer, tp, sought = reading(tmp_path, last=109)
    assert handed_out(consumer, tp, [115, 116]) == []
    assert handed_out(consumer, tp, [115, 116, 117]) == [115, 116, 117]
    assert sought == [(tp, 110)]
    assert handed_out(consumer, tp, [125]) == []
    assert sought == [(tp, 110), (tp, 118)], "a later jump is checked too"


def test_records_in_sequence_are_never_held_back(tmp_path: Path) -> None:
    consumer, tp, sought = reading(tmp_path, last=109)
    assert handed_out(consumer, tp, range(110, 200)) == list(range(110, 200))
    consumer._read_offset[tp] = None
    assert handed_out(consumer, tp, [250]) == [250], "no read offset yet: nothing to compare"
    assert sought == []


def test_a_second_fetch_that_starts_past_the_jump_stops_being_waited_for(
    tmp_path: Path,
) -> None:
    consumer, tp, _ = reading(tmp_path, last=109)
    handed_out(consumer, tp, [115])
    assert handed_out(consumer, tp, [130]) == []
    consumer.jumps.grace_s = 0
    assert handed_out(consumer, tp, [130]) == [130]
    assert not consumer.jumps.held_back(tp, 131)


class Assigned:
    """Faust's consumer thread as a rebalance leaves it: the partitions assigned,
    their commits as aiokafka reports them (None: never committed), and where
    the consumer is then sent back to the beginning."""

    def __init__(self, committed: dict[TP, int | None]) -> None:
        self.committed = committed
        self.from_beginning: list[TP] = []

    async def seek_to_committed(self) -> dict[TP, int | None]:
        return self.committed

    def assignment(self) -> set[TP]:
        return set(self.committed)

    async def seek_to_beginning(self, *partitions: TP) -> None:
        self.from_beginning.extend(partitions)


def test_after_a_rebalance_partitions_never_committed_are_read_from_the_beginning(
    tmp_path: Path,
) -> None:
    """aiokafka seeks only to a commit above 0. Without one the position stays where
    the prefetch got to while the tables recovered, past records Faust dropped."""
    app = create_app(Settings(_env_file=None, data_dir=tmp_path))
    consumer = app.consumer
    assert isinstance(consumer, transport.Consumer)
    app.topics._acking_topics.add("lines")  # type: ignore[attr-defined]
    committed, fresh, also_fresh, changelog = (
        TP("lines", 0),
        TP("lines", 1),
        TP("lines", 2),
        TP("history-changelog", 0),
    )
    thread = Assigned({committed: 42, fresh: None, also_fresh: 0, changelog: None})
    consumer._thread = thread  # type: ignore[assignment]
    asyncio.run(consumer.perform_seek())
    assert sorted(thread.from_beginning) == [fresh, also_fresh]
    assert consumer._floor == {committed: 42}
    assert consumer._read_offset[committed] == 42
