"""HTTP on the worker's web server: claim lookups and health probes."""

from __future__ import annotations

from typing import Any

import aiohttp
import faust
from faust.web import Request, Response, View
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from yarl import URL

from streams.claims import ClaimState
from streams.metrics import Metrics
from streams.tables import Tables


def attach(app: faust.App, tables: Tables, metrics: Metrics) -> None:
    @app.page("/metrics")
    async def prometheus_metrics(web: View, request: Request) -> Response:
        """Prometheus exposition of this worker's metrics."""
        return web.bytes(
            generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4}
        )

    @app.page("/healthz")
    async def healthz(web: View, request: Request) -> Response:
        """The process is up and serving."""
        return web.json({"status": "ok"})

    @app.page("/readyz")
    async def readyz(web: View, request: Request) -> Response:
        """Partitions are assigned, tables recovered, and the worker consumes."""
        recovered = app.tables.recovery.completed.is_set()  # type: ignore[attr-defined]
        assigned = len(app.assignor.assigned_actives())
        ready = recovered and not app.rebalancing and assigned > 0
        body = {
            "ready": ready,
            "recovered": recovered,
            "rebalancing": app.rebalancing,
            "assigned_partitions": assigned,
        }
        return web.json(body, status=200 if ready else 503)

    @app.page("/claims/{claim_id}")
    async def claim(web: View, request: Request, claim_id: str) -> Response:
        """The latest ClaimVerdict of a claim with its line verdicts.

        A claim lives on its patient's partition, which its id does not tell: a
        worker that does not hold it asks the others (`?local=1` asks only this one).
        """
        state = tables.claims.get(claim_id)
        if state is not None:
            return web.json(claim_body(claim_id, state))
        unanswered = 0
        if request.rel_url.query.get("local") != "1":
            for peer in peers(app):
                url = peer.with_path(f"/claims/{claim_id}").with_query(local="1")
                try:
                    async with app.http_client.get(url, timeout=PEER_TIMEOUT) as resp:
                        if resp.status == 200:
                            return web.json(await resp.json())
                        unanswered += resp.status != 404
                except (aiohttp.ClientError, TimeoutError):
                    unanswered += 1
        if unanswered:
            body = {"error": "not every worker answered", "claim_id": claim_id}
            return web.json(body, status=503)
        return web.json({"error": "unknown claim", "claim_id": claim_id}, status=404)


PEER_TIMEOUT = aiohttp.ClientTimeout(total=5)


def claim_body(claim_id: str, state: ClaimState) -> dict[str, Any]:
    return {
        "claim_id": claim_id,
        "status": "pending" if state.verdict_json is None else "verdict",
        "claim_verdict": state.verdict(),
        "line_verdicts": [ln.verdict() for _, ln in sorted(state.lines.items())],
    }


def peers(app: faust.App) -> list[URL]:
    """The other workers of the group, by the URLs they registered at the last rebalance."""
    me = URL(str(app.conf.canonical_url))
    urls = (URL(str(url)) for url in app.router.tables_metadata())
    return [u for u in urls if (u.host, u.port) != (me.host, me.port)]
