"""The edit catalog (`edits.yaml`): category, severity, why payers deny, and the fix."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import yaml

from streams.events import Category, Finding, Severity


@dataclass(frozen=True, slots=True)
class Edit:
    code: str
    category: Category
    severity: Severity
    title: str
    why: str
    fix: str


def _load() -> dict[str, Edit]:
    raw = yaml.safe_load(resources.files(__package__).joinpath("edits.yaml").read_text())
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
