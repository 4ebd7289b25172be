"""The worker's web port on running workers: no table contents for anyone, claims
only with the token."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from email.message import Message

import orjson
import pytest

from streams.samples import ADMIN_96401, claim
from streams.settings import Settings
from streams.stream.kafka.embedded import free_port
from tests.integration.conftest import Workers, publish_and_wait, read_until
from tests.integration.test_stateful_stream import wait_ready

pytestmark = pytest.mark.integration

TOKEN = "s3cret-token-for-tests"


def request(url: str, token: str | None = None) -> tuple[int, Message, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def test_no_table_views_and_claims_only_with_the_token(
    settings: Settings, workers: Workers
) -> None:
    """Two workers, so a lookup on the worker without the claim is forwarded to the
    other one: the forwarded call must carry the token too."""
    ports = [settings.web_port, free_port()]
    for port in ports:
        workers.start(web_token=TOKEN, web_port=port)
    for port in ports:
        wait_ready(settings, timeout=90, port=port)
    lines = claim("web-token", {}, ADMIN_96401)
    publish_and_wait(settings, lines)
    claim_id = lines[0]["claim"]["claim_id"]
    patient_id = lines[0]["claim"]["patient"]["patient_id"]
    asyncio.run(
        read_until(
            settings,
            settings.topic_claim_verdicts,
            lambda found: any(c["claim_id"] == claim_id for c in found),
            timeout=60,
        )
    )

    for port in ports:
        base = f"http://127.0.0.1:{port}"
        for path in (
            "/",
            "/table/",
            "/table/patient-history/",
            f"/table/patient-history/{patient_id}/",
            "/table/claims/",
            f"/table/claims/{claim_id}/",
            "/router/",
            f"/router/patient-history/{patient_id}/",
            "/assignment/",
            "/graph/",
            "/performance/",
        ):
            status, _, body = request(base + path, TOKEN)
            assert status == 404, (path, status)
            assert patient_id.encode() not in body and claim_id.encode() not in body

        status, headers, _ = request(f"{base}/claims/{claim_id}")
        assert status == 401
        assert headers["WWW-Authenticate"].startswith("Bearer")
        status, headers, _ = request(f"{base}/claims/{claim_id}", "not-" + TOKEN)
        assert status == 401
        assert 'error="invalid_token"' in headers["WWW-Authenticate"]

        status, _, body = request(f"{base}/claims/{claim_id}", TOKEN)
        assert status == 200, body
        found = orjson.loads(body)
        assert found["claim_id"] == claim_id
        assert [v["line_number"] for v in found["line_verdicts"]] == [1, 2]

        for path in ("/metrics", "/livez", "/healthz", "/readyz"):
            assert request(base + path)[0] == 200, path
