"""The edit catalog (`edits.yaml`): category, severity, why payers deny, and the fix."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import yaml

from streams.contract.models import Category, Finding, Severity


@dataclass(frozen=True, slots=True)
class Edit:
    code: str
    category: Category
    severity: Severity
    title: str
    why: str
    fix: str


def _load() -> dict[str, Edit]:
    """The catalog in category order (as the contract lists them), then file order."""
    raw = yaml.safe_load(resources.files(__package__).joinpath("edits.yaml").read_text())
    order = list(Category)
    raw = dict(sorted(raw.items(), key=lambda item: order.index(Category(item[1]["category"]))))
    return {
        code: Edit(
            code=code,
            category=Category(spec["category"]),
            severity=Severity(spec["severity"]),
            title=spec["title"],
            why=" ".join(spec["why"].split()),
            fix=spec["fix"],
        )
        for code, spec in raw.items()
    }


CATALOG: dict[str, Edit] = _load()


def finding(
    code: str,
    message: str,
    *,
    field: str | None = None,
    suggestion: str | None = None,
    severity: Severity | None = None,
) -> Finding:
    """A finding for a catalogued edit; an uncatalogued code raises KeyError."""
    edit = CATALOG[code]
    return Finding(
        code=code,
        category=edit.category,
        severity=severity or edit.severity,
        message=message,
        field=field,
        suggestion=suggestion,
    )


def render_markdown() -> str:
    """docs/edits.md: the catalog for billers and payers' reviewers."""
    out = [
        "# Edit catalog",
        "",
        "Every finding code the validator emits, generated from",
        "`streams/validation/rules/edits.yaml` (`make docs` rewrites this file).",
        "Severity `error` fails a line, `warning` warns,",
        "`info` leaves it passing. Some severities are set per payer (NDC_MISSING).",
        "",
        "| Code | Category | Severity | Edit |",
        "|---|---|---|---|",
    ]
    out += [f"| `{e.code}` | {e.category} | {e.severity} | {e.title} |" for e in CATALOG.values()]
    for edit in CATALOG.values():
        out += [
            "",
            f"## {edit.code}",
            "",
            f"{edit.title}. Category `{edit.category}`, severity `{edit.severity}`.",
            "",
            f"- Why payers deny it: {edit.why}",
            f"- Fix: {edit.fix}",
        ]
    return "\n".join(out) + "\n"
