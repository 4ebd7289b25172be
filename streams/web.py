"""HTTP on the worker's web server: claim lookups and health probes."""

from __future__ import annotations

from typing import Any

import faust
from faust.web import Request, Response, View
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

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
    @app.table_route(table=tables.claims_table, match_info="claim_id")
    async def claim(web: View, request: Request, claim_id: str) -> Response:
        """The latest ClaimVerdict of a claim with its line verdicts (on the owning worker)."""
        state = tables.claims.get(claim_id)
        if state is None:
            return web.json({"error": "unknown claim", "claim_id": claim_id}, status=404)
        body: dict[str, Any] = {
            "claim_id": claim_id,
            "status": "pending" if state.verdict_json is None else "verdict",
            "claim_verdict": state.verdict(),
            "line_verdicts": [ln.verdict() for _, ln in sorted(state.lines.items())],
        }
        return web.json(body)
