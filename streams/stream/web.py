"""HTTP on the worker's web server: claim lookups and health probes.

The port serves `/metrics`, `/livez` (alias `/healthz`), `/readyz` and `/claims/{id}`,
nothing else: Faust's own views are off (see `PortWeb`), since its table views hand
out table contents (patient ids, claim lines, histories) to anyone who asks. Only
`/claims/...` returns claim data; it asks for a bearer token when `web_token` is set.
"""

from __future__ import annotations

import hmac
from typing import Any, ClassVar

import aiohttp
import faust
from faust.web import Request, Response, View
from faust.web.drivers import aiohttp as aiohttp_driver
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from pydantic import SecretStr
from yarl import URL

from streams.ops.metrics import Metrics
from streams.stream.kafka.probe import BrokerWatch
from streams.stream.tables import Tables
from streams.validation.rollup import ClaimState


class PortWeb(aiohttp_driver.Web):
    """Faust's aiohttp server without any of its built-in blueprints.

    `create_app` turns off every built-in view by its setting but one: with its
    statistics off, Faust serves a placeholder index at `/` instead. Emptying the
    blueprint lists (public class attributes of `faust.web.Web`) leaves only the
    views this module adds."""

    default_blueprints: ClassVar[list[Any]] = []
    production_blueprints: ClassVar[list[Any]] = []
    debug_blueprints: ClassVar[list[Any]] = []
    optional_blueprints: ClassVar[list[Any]] = []


def readiness(app: faust.App, watch: BrokerWatch) -> dict[str, Any]:
    """Partitions assigned, tables recovered, and the broker answering lately.

    Without the last, a worker cut off from its broker kept answering 200: its
    assignment and tables stay as they were until the group notices it gone."""
    recovered = app.tables.recovery.completed.is_set()  # type: ignore[attr-defined]
    assigned = len(app.assignor.assigned_actives())
    broker = watch.reachable()
    return {
        "ready": recovered and not app.rebalancing and assigned > 0 and broker,
        "recovered": recovered,
        "rebalancing": app.rebalancing,
        "assigned_partitions": assigned,
        "broker_reachable": broker,
        "broker_silent_s": round(watch.silent_for(), 1),
    }


def authorized(request: Request, token: SecretStr | None) -> str | None:
    """None when the request may read claims; else the `WWW-Authenticate` challenge."""
    if token is None:
        return None
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return 'Bearer realm="j9262"'
    if hmac.compare_digest(given.strip().encode(), token.get_secret_value().encode()):
        return None
    return 'Bearer realm="j9262", error="invalid_token"'


def attach(
    app: faust.App,
    tables: Tables,
    metrics: Metrics,
    watch: BrokerWatch,
    token: SecretStr | None = None,
) -> None:
    metrics.ready.set_function(lambda: float(readiness(app, watch)["ready"]))
    peer_headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}

    @app.page("/metrics")
    async def prometheus_metrics(web: View, request: Request) -> Response:
        """Prometheus exposition of this worker's metrics."""
        return web.bytes(
            generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4}
        )

    @app.page("/livez")
    async def livez(web: View, request: Request) -> Response:
        """The process is up and serving."""
        return web.json({"status": "ok"})

    @app.page("/healthz")
    async def healthz(web: View, request: Request) -> Response:
        """`/livez` by its former name, which deployments may still probe."""
        return web.json({"status": "ok"})

    @app.page("/readyz")
    async def readyz(web: View, request: Request) -> Response:
        body = readiness(app, watch)
        return web.json(body, status=200 if body["ready"] else 503)

    @app.page("/claims/{claim_id}")
    async def claim(web: View, request: Request, claim_id: str) -> Response:
        """The latest ClaimVerdict of a claim with its line verdicts.

        A claim lives on its patient's partition, which its id does not tell: a
        worker that does not hold it asks the others (`?local=1` asks only this one).
        """
        challenge = authorized(request, token)
        if challenge is not None:
            return web.json(
                {"error": "a valid bearer token is required"},
                status=401,
                headers={"WWW-Authenticate": challenge},
            )
        state = tables.claims.get(claim_id)
        if state is not None:
            return web.json(claim_body(claim_id, state))
        unanswered = 0
        if request.rel_url.query.get("local") != "1":
            for peer in peers(app):
                url = peer.with_path(f"/claims/{claim_id}").with_query(local="1")
                try:
                    async with app.http_client.get(
                        url, timeout=PEER_TIMEOUT, headers=peer_headers
                    ) as resp:
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
