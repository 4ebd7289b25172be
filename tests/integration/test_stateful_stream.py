"""Cross-line checks, claim roll-up, HTTP and restarts through the broker and workers."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import urllib.error
import urllib.request
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from streams.samples import ADMIN_96401, claim, encode, event
from streams.settings import Settings
from streams.stream.kafka.clients import publish
from streams.stream.kafka.embedded import free_port
from tests.integration.conftest import Workers, publish_and_wait, read_until

pytestmark = pytest.mark.integration


def day(patient: str, n: int) -> dict[str, Any]:
    service = (date(2026, 11, 1) + timedelta(days=n)).isoformat()
    return event(
        f"{patient}-day-{n}",
        claim={"patient": {"patient_id": patient}},
        line={"service_date": service},
        event_time=f"{service}T22:00:00Z",
    )


def codes(verdict: dict[str, Any]) -> list[str]:
    return [f["code"] for f in verdict["findings"]]


def by_event(verdicts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {v["event_id"]: v for v in verdicts}


def get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def wait_ready(settings: Settings, timeout: float = 60, port: int | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if get(f"http://127.0.0.1:{port or settings.web_port}/readyz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError("the worker never became ready")


def test_cycle_duplicates_and_redelivery(settings: Settings, workers: Workers) -> None:
    workers.start()
    first = [day("P-s1", n) for n in range(14)]
    verdicts = by_event(publish_and_wait(settings, first))
    assert all(codes(verdicts[d["event_id"]]) == [] for d in first)

    fifteenth = day("P-s1", 14)
    duplicate = event(
        "dup-of-day-0",
        claim={"patient": {"patient_id": "P-s1"}},
        line={"service_date": first[0]["line"]["service_date"]},
    )
    verdicts = by_event(publish_and_wait(settings, [fifteenth, duplicate]))
    assert codes(verdicts[fifteenth["event_id"]]) == ["DOSING_CYCLE_DAYS"]
    assert codes(verdicts[duplicate["event_id"]]) == ["DUPLICATE_LINE"]

    asyncio.run(publish(settings, [encode(first[3])]))
    twice = asyncio.run(
        read_until(
            settings,
            settings.topic_verdicts,
            lambda found: sum(v["event_id"] == first[3]["event_id"] for v in found) >= 2,
            60,
        )
    )
    original, again = [v for v in twice if v["event_id"] == first[3]["event_id"]][:2]
    assert codes(again) == []
    original.pop("validated_at"), again.pop("validated_at")
    assert again == original


def test_claim_rollup_complete_incomplete_and_http(settings: Settings, workers: Workers) -> None:
    workers.start()
    wait_ready(settings)
    complete = claim("http-pair", {}, ADMIN_96401)
    partial = claim("http-partial", {}, ADMIN_96401, {"hcpcs": "J1100", "ndc": None})[:2]
    publish_and_wait(settings, complete + partial)
    claims = asyncio.run(
        read_until(
            settings, settings.topic_claim_verdicts, lambda found: len(found) >= 2, timeout=30
        )
    )
    got = {c["claim_id"]: c for c in claims}
    pair = got[complete[0]["claim"]["claim_id"]]
    assert (pair["complete"], pair["disposition"], pair["findings"]) == (True, "pass", [])
    late = got[partial[0]["claim"]["claim_id"]]
    assert (late["complete"], late["total_lines"]) == (False, 3)
    assert codes(late) == ["CLAIM_INCOMPLETE"]

    base = f"http://127.0.0.1:{settings.web_port}"
    status, body = get(f"{base}/claims/{complete[0]['claim']['claim_id']}")
    assert status == 200
    assert body["claim_verdict"] == pair | {"validated_at": body["claim_verdict"]["validated_at"]}
    assert [v["line_number"] for v in body["line_verdicts"]] == [1, 2]
    assert get(f"{base}/claims/CLM-NEVER-SEEN")[0] == 404
    assert get(f"{base}/healthz") == (200, {"status": "ok"})
    status, ready = get(f"{base}/readyz")
    assert status == 200 and ready["assigned_partitions"] > 0


def same_claim(events: str, *lines: dict[str, Any], **claim_part: Any) -> list[dict[str, Any]]:
    """Lines of claim CLM-replaced of patient P-replaced; `events` names their event ids."""
    docs = claim(events, *lines)
    for doc in docs:
        doc["claim"] |= {"claim_id": "CLM-replaced"} | claim_part
        doc["claim"]["patient"]["patient_id"] = "P-replaced"
    return docs


def test_a_replacement_under_the_claims_own_id_is_answered_and_rolled_up_again(
    settings: Settings, workers: Workers
) -> None:
    """CLM05-3 = 7 sent under the original's claim id, through the stream: its lines are
    no duplicates of the original's, and the claim is rolled up again on them alone."""
    workers.start()
    first = same_claim("replaced-1", {}, ADMIN_96401)
    publish_and_wait(settings, first)
    corrected = {"charge_amount": "4000.00"}
    again = same_claim("replaced-7", corrected, ADMIN_96401, frequency="replacement")
    verdicts = by_event(publish_and_wait(settings, again))
    assert [codes(verdicts[d["event_id"]]) for d in again] == [[], []]

    replacement_ids = {verdicts[d["event_id"]]["verdict_id"] for d in again}

    def rolled_up_again(found: list[dict[str, Any]]) -> bool:
        return any(
            c["claim_id"] == "CLM-replaced"
            and {ln["verdict_id"] for ln in c["lines"]} == replacement_ids
            for c in found
        )

    claims = asyncio.run(
        read_until(settings, settings.topic_claim_verdicts, rolled_up_again, timeout=60)
    )
    mine = [c for c in claims if c["claim_id"] == "CLM-replaced"]
    assert rolled_up_again(mine), mine
    assert mine[0]["lines"] != mine[-1]["lines"]  # the original's verdict came first
    assert (mine[-1]["complete"], mine[-1]["disposition"], codes(mine[-1])) == (True, "pass", [])


@pytest.mark.parametrize("store", ["memory://", "rocksdb://"])
def test_a_new_worker_continues_the_cycle_from_the_changelog(
    settings: Settings, workers: Workers, tmp_path: Path, store: str
) -> None:
    """The second worker has an empty data directory: its state comes from the changelog."""
    first = workers.start(store=store, data_dir=tmp_path / "first")
    days = [day("P-restart", n) for n in range(15)]
    publish_and_wait(settings, days[:10])
    first.send_signal(signal.SIGTERM)
    assert first.wait(30) == 0

    workers.start(store=store, data_dir=tmp_path / "second")
    # Lines of different claims may be handled in any order: the 15th day goes alone.
    verdicts = by_event(publish_and_wait(settings, days[10:14], timeout=90))
    assert [codes(verdicts[d["event_id"]]) for d in days[10:14]] == [[]] * 4
    verdicts = by_event(publish_and_wait(settings, days[14:]))
    assert codes(verdicts[days[14]["event_id"]]) == ["DOSING_CYCLE_DAYS"]


def test_a_claim_still_waiting_when_its_worker_stops_gets_its_verdict_from_the_next(
    settings: Settings, workers: Workers
) -> None:
    """The next worker finds the claim's deadline in the claims changelog, not in a message."""
    first = workers.start(claim_wait_s=3600)
    wait_ready(settings)
    lines = claim("handover", {}, ADMIN_96401, {"hcpcs": "J1100", "ndc": None})[:2]
    line_verdicts = publish_and_wait(settings, lines)
    claim_id = lines[0]["claim"]["claim_id"]
    url = f"http://127.0.0.1:{settings.web_port}/claims/{claim_id}"
    deadline = time.monotonic() + 30
    while (held := get(url))[0] != 200 or len(held[1]["line_verdicts"]) < 2:
        assert time.monotonic() < deadline, "the claim never reached the claims table"
        time.sleep(0.3)
    assert held[1]["status"] == "pending"
    first.send_signal(signal.SIGTERM)
    assert first.wait(30) == 0

    workers.start()
    found = asyncio.run(
        read_until(
            settings,
            settings.topic_claim_verdicts,
            lambda found: any(c["claim_id"] == claim_id for c in found),
            timeout=60,
        )
    )
    verdicts = [c for c in found if c["claim_id"] == claim_id]
    assert len(verdicts) == 1, "the next worker gave the waiting claim no verdict"
    verdict = verdicts[0]
    assert (verdict["complete"], verdict["total_lines"]) == (False, 3)
    assert codes(verdict) == ["CLAIM_INCOMPLETE"]
    ids = {v["verdict_id"] for v in line_verdicts if v["claim_id"] == claim_id}
    assert {line["verdict_id"] for line in verdict["lines"]} == ids


def test_either_worker_answers_for_a_claim_the_other_holds(
    settings: Settings, workers: Workers
) -> None:
    """A claim lives on its patient's partition, which its id does not tell."""
    workers.start()
    other = free_port()
    workers.start(web_port=other)
    wait_ready(settings)
    wait_ready(settings, port=other)
    docs = [
        event(f"spread-{n}", claim={"total_lines": 1, "patient": {"patient_id": f"P-spread-{n}"}})
        for n in range(12)
    ]
    publish_and_wait(settings, docs)
    ids = [d["claim"]["claim_id"] for d in docs]
    ports = (settings.web_port, other)

    def holders(claim_id: str) -> list[int]:
        return [
            p for p in ports if get(f"http://127.0.0.1:{p}/claims/{claim_id}?local=1")[0] == 200
        ]

    deadline = time.monotonic() + 60
    while [len(holders(c)) for c in ids] != [1] * len(ids):
        assert time.monotonic() < deadline, "each claim should settle on one worker"
        time.sleep(0.5)
    held = {c: holders(c)[0] for c in ids}
    assert set(held.values()) == set(ports), "the two workers should share the claims"
    for claim_id in ids:
        answers = [get(f"http://127.0.0.1:{p}/claims/{claim_id}") for p in ports]
        assert [status for status, _ in answers] == [200, 200]
        assert answers[0][1] == answers[1][1]
        assert answers[0][1]["status"] == "verdict"
    assert [get(f"http://127.0.0.1:{p}/claims/CLM-NEVER-SEEN")[0] for p in ports] == [404, 404]

    # A frozen worker (well inside its session timeout) must not pass for one
    # that holds nothing: the claim exists, so the other says 503, not 404.
    frozen = workers.procs[1][0]
    theirs = next(c for c, port in held.items() if port == other)
    frozen.send_signal(signal.SIGSTOP)
    try:
        # `get` gives up after 10 s: an answer at all means the peer timeout came first.
        status, body = get(f"http://127.0.0.1:{settings.web_port}/claims/{theirs}")
    finally:
        frozen.send_signal(signal.SIGCONT)
    assert (status, body["claim_id"]) == (503, theirs)
