"""Payer-policy edits: timely filing; for J9262 prior authorization, step therapy,
white bagging, exclusion.

The terms come from `payer_policies.yaml` (plan-type defaults, per-payer overrides).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import date
from functools import lru_cache

from streams.contract.models import (
    DrugSource,
    Finding,
    PriorAuthorization,
    PriorAuthStatus,
)
from streams.refdata import PayerPolicy
from streams.validation.rules.catalog import finding
from streams.validation.rules.documentation import NOT_DOCUMENTED, tki_history
from streams.validation.rules.engine import LineContext, rule


def _authorization(pa: PriorAuthorization) -> str:
    return f"prior authorization {pa.number}" if pa.number else "prior authorization"


@lru_cache(maxsize=4096)
def add_months(day: date, months: int) -> date:
    """The same day `months` calendar months later, or the month's last day when it has
    no such day: one calendar year after February 29 is February 28.

    Cached: timely_filing asks it on nearly every line, of few distinct dates, and it
    costs about 1 us (calendar.monthrange) against 0.1 for a cache hit."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    if year > date.max.year:
        return date.max
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def filing_deadline(policy: PayerPolicy, service: date) -> tuple[date, str] | None:
    """The last day the payer may receive the claim, and the limit in words."""
    if policy.timely_filing_months:
        months = policy.timely_filing_months
        words = "one calendar year" if months == 12 else f"{months} calendar months"
        return add_months(service, months), words
    if policy.timely_filing_days:
        days = policy.timely_filing_days
        last = min(service.toordinal() + days, date.max.toordinal())
        return date.fromordinal(last), f"{days} days"
    return None


@rule
def timely_filing(ctx: LineContext) -> Iterator[Finding]:
    policy, line = ctx.facts.policy, ctx.line
    limit = filing_deadline(policy, line.service_date)
    if limit is None:
        return
    deadline, words = limit
    received = ctx.claim.received_date
    filed = received or ctx.event.event_time.date()
    if filed > deadline:
        how = "received" if received else "sent"
        yield finding(
            "PAYER_TIMELY_FILING",
            f"Service date {line.service_date}: the claim was {how} {filed}, after "
            f"{deadline}, the last day of the {policy.basis}'s limit ({words})",
            field="claim.received_date" if received else "line.service_date",
            suggestion="Check the service date; if it is right, file with proof of timely "
            "filing or an exception the payer accepts",
        )


@rule
def payer_policy(ctx: LineContext) -> Iterator[Finding]:
    if not ctx.facts.omacetaxine or ctx.facts.waste:
        return
    policy, claim = ctx.facts.policy, ctx.claim
    if policy.drug_excluded:
        yield finding(
            "PAYER_DRUG_EXCLUDED",
            f"J9262 is excluded under the {policy.basis}",
            field="claim.payer",
            suggestion="Request an exception or bill the patient's other coverage",
        )
    if policy.prior_auth_required:
        pa = claim.prior_authorization
        if pa is None:
            yield finding(
                "PAYER_PA_MISSING",
                f"the {policy.basis} requires prior authorization for J9262; none is reported",
                field="claim.prior_authorization",
                suggestion="Obtain prior authorization and report its number",
            )
        elif pa.status is PriorAuthStatus.DENIED:
            yield finding(
                "PAYER_PA_DENIED",
                f"{_authorization(pa)} was denied",
                field="claim.prior_authorization.status",
            )
        elif pa.status is PriorAuthStatus.PENDING:
            yield finding(
                "PAYER_PA_PENDING",
                f"{_authorization(pa)} is pending",
                field="claim.prior_authorization.status",
                suggestion="Hold the line until the authorization is approved",
            )
    minimum = policy.step_therapy_min_tkis
    if minimum:  # the history is read only for a payer that asks for it
        history = tki_history(ctx.event.documentation or NOT_DOCUMENTED, ctx.refdata.tkis)
        if not history.met(minimum):
            yield finding(
                "PAYER_STEP_THERAPY",
                f"the {policy.basis} requires {minimum} failed or not tolerated TKIs first; "
                + history.describe(),
                field=history.field(),
                suggestion="Document the prior TKIs and why they were stopped, or request an "
                "exception",
            )
    if policy.white_bag_required and ctx.line.drug_source is DrugSource.BUY_AND_BILL:
        yield finding(
            "PAYER_WHITE_BAG",
            f"the {policy.basis} requires white bagging; the drug was bought and billed",
            field="line.drug_source",
            suggestion="Obtain J9262 from the payer's specialty pharmacy and bill the "
            "administration only",
        )
