"""The edit catalog (`edits.yaml`): what each edit checks, for whom, when, how badly, and why.

Each edit names the plan types it applies to, its severity per plan type, the dates it is in
force (on the line's date of service) and the public source it follows. The engine applies
these: a rule says what it found, the catalog says whether that matters for this payer today.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from typing import Any

import yaml

from streams.contract.models import Category, Finding, PlanType, Severity
from streams.validation.trusted import replaced, trusted

ALL_PLANS = frozenset(p.value for p in PlanType)
DEFAULT = "default"


@dataclass(frozen=True, slots=True)
class Edit:
    code: str
    category: Category
    severity: Severity
    """The default severity: for plan types `severities` does not name."""
    title: str
    why: str
    fix: str
    source: str = ""
    severities: Mapping[str, Severity] = field(default_factory=dict)
    applies_to: frozenset[str] = ALL_PLANS
    effective: date | None = None
    termination: date | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def severity_for(self, plan_type: str) -> Severity:
        return self.severities.get(plan_type, self.severity)

    def applies(self, plan_type: str, day: date | None) -> bool:
        """In force for this plan type on this date of service."""
        if plan_type not in self.applies_to:
            return False
        if day is None:
            return True
        return (self.effective is None or day >= self.effective) and (
            self.termination is None or day <= self.termination
        )

    def param(self, name: str) -> Any:
        """A domain value the rule needs (a place of service, a revenue code): data, not code."""
        return self.params[name]


def _severities(spec: Any, code: str) -> tuple[Severity, dict[str, Severity]]:
    if isinstance(spec, str):
        return Severity(spec), {}
    if not isinstance(spec, dict) or DEFAULT not in spec:
        raise ValueError(f"edits.yaml, {code}: severity is a level or a mapping with 'default'")
    per_plan = {PlanType(k).value: Severity(v) for k, v in spec.items() if k != DEFAULT}
    return Severity(spec[DEFAULT]), per_plan


def _edit(code: str, spec: dict[str, Any]) -> Edit:
    default, per_plan = _severities(spec["severity"], code)
    applies = spec.get("applies_to")
    return Edit(
        code=code,
        category=Category(spec["category"]),
        severity=default,
        title=spec["title"],
        why=" ".join(spec["why"].split()),
        fix=spec["fix"],
        source=" ".join(str(spec.get("source", "")).split()),
        severities=per_plan,
        applies_to=ALL_PLANS if applies is None else frozenset(PlanType(p).value for p in applies),
        effective=spec.get("effective"),
        termination=spec.get("termination"),
        params=spec.get("params") or {},
    )


def _load() -> dict[str, Edit]:
    """The catalog in category order (as the contract lists them), then file order."""
    raw = yaml.safe_load(resources.files(__package__).joinpath("edits.yaml").read_text())
    order = list(Category)
    raw = dict(sorted(raw.items(), key=lambda item: order.index(Category(item[1]["category"]))))
    return {code: _edit(code, spec) for code, spec in raw.items()}


CATALOG: dict[str, Edit] = _load()


def finding(
    code: str,
    message: str,
    *,
    field: str | None = None,
    suggestion: str | None = None,
    severity: Severity | None = None,
) -> Finding:
    """A finding for a catalogued edit; an uncatalogued code raises KeyError.

    Without `severity` it carries the edit's default, which `resolve` replaces by the
    plan type's; a rule passes `severity` only to grade one case of an edit differently
    (BSA unknown while the units fit one vial), and `resolve` keeps that choice.
    """
    edit = CATALOG[code]
    graded = severity or edit.severity
    fields = {
        "code": edit.code,
        "category": edit.category,
        "severity": graded,
        "message": message,
        "field": field,
        "suggestion": suggestion,
    }
    plain = type(graded) is Severity and type(message) is str
    if plain and _text_or_none(field) and _text_or_none(suggestion):
        return trusted(Finding, fields)  # a line has a few: not validated again
    return Finding(**fields)  # what validation says of anything else


def _text_or_none(value: object) -> bool:
    return value is None or type(value) is str


def resolve(
    findings: list[Finding],
    plan_type: str,
    day: date | None,
    overrides: Mapping[str, str] | None = None,
) -> list[Finding]:
    """Drop findings of edits not in force for the plan type on the date; set each one's
    severity: the payer's configured override, else the rule's own grading, else the
    catalog's severity for the plan type."""
    out = []
    for f in findings:
        edit = CATALOG[f.code]
        if not edit.applies(plan_type, day):
            continue
        override = (overrides or {}).get(f.code)
        if override is not None:
            severity = Severity(override)
        elif f.severity is not edit.severity:
            severity = f.severity
        else:
            severity = edit.severity_for(plan_type)
        out.append(f if severity is f.severity else replaced(f, severity=severity))
    return out


POLICY = """\
## Severity policy

Each finding has a severity; the line's disposition is the worst of them.

- `pass` (no finding, or only `info`): a biller would send the line as it is.
- `warn` (a `warning`): a person should look before it is sent; it may be right,
  and the record decides.
- `fail` (an `error`): the payer will deny or return the line as billed.
- `info`: worth knowing, but it cannot change the outcome: a missing lot number,
  BSA unknown when the units fit one vial, a missing NDC where the payer does not
  require one.

An edit applies only to the plan types it names and only on dates of service between its
effective and termination dates; outside them it does not fire. Its severity can differ by
plan type (the NDC is required by Medicaid, not by Medicare for a code that names the drug),
and a payer's own terms in `payer_policies.yaml` (`severities`) override the plan type's.
"""


def _plans(edit: Edit) -> str:
    return "all" if edit.applies_to == ALL_PLANS else ", ".join(sorted(edit.applies_to))


def _severity_cell(edit: Edit) -> str:
    plans = [p.value for p in PlanType if p.value in edit.applies_to]
    levels = {p: edit.severity_for(p) for p in plans}
    if len(set(levels.values())) <= 1:
        return str(next(iter(levels.values()), edit.severity))
    return "; ".join(f"{p}: {s}" for p, s in levels.items())


def _dates(edit: Edit) -> str:
    if edit.effective is None and edit.termination is None:
        return "always"
    start = str(edit.effective) if edit.effective else "..."
    end = str(edit.termination) if edit.termination else "..."
    return f"{start} to {end}"


def render_markdown() -> str:
    """docs/rules.md: the catalog for billers and payers' reviewers."""
    out = [
        "# Rules: the edit catalog",
        "",
        "Every finding code the validator emits, generated from",
        "`streams/validation/rules/edits.yaml` (`make docs` rewrites this file;",
        "a test fails when it is out of date).",
        "",
        POLICY,
        "## Edits",
        "",
        "| Code | Category | Severity by plan type | Plan types | In force | Edit |",
        "|---|---|---|---|---|---|",
    ]
    out += [
        f"| `{e.code}` | {e.category} | {_severity_cell(e)} | {_plans(e)} | {_dates(e)} "
        f"| {e.title} |"
        for e in CATALOG.values()
    ]
    for edit in CATALOG.values():
        out += [
            "",
            f"### {edit.code}",
            "",
            f"{edit.title}. Category `{edit.category}`.",
            "",
            f"- Severity: {_severity_cell(edit)}",
            f"- Plan types: {_plans(edit)}",
            f"- In force (date of service): {_dates(edit)}",
            f"- Why payers deny it: {edit.why}",
            f"- Fix: {edit.fix}",
            f"- Source: {edit.source}",
        ]
    return "\n".join(out) + "\n"
