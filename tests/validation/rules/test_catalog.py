"""The edit catalog: complete, consistent, and documented."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from click.testing import CliRunner

from streams.cli.main import cli
from streams.contract.models import Category, PlanType, Severity
from streams.validation.rules import CATALOG, RULE_MODULES
from streams.validation.rules.catalog import finding, render_markdown, resolve

ROOT = Path(__file__).resolve().parents[3]
EDIT_CODE = re.compile(r'"([A-Z]+(?:_[A-Z0-9]+)+)"')


def test_every_code_the_rules_can_emit_is_catalogued() -> None:
    rules_dir = Path(RULE_MODULES[0].__file__ or "").parent
    emitted: set[str] = set()
    for path in set(rules_dir.glob("*.py")) - {rules_dir / "__init__.py"}:
        emitted |= set(EDIT_CODE.findall(path.read_text()))
    assert emitted, "no edit codes found in the rule modules"
    assert emitted - set(CATALOG) == set()


def test_catalog_entries_are_complete() -> None:
    for edit in CATALOG.values():
        assert isinstance(edit.category, Category)
        assert isinstance(edit.severity, Severity)
        assert edit.title and len(edit.why) > 40 and edit.fix, edit.code


def test_docs_are_generated_from_the_catalog() -> None:
    assert (ROOT / "docs" / "rules.md").read_text() == render_markdown(), "run `make docs`"


def test_the_old_catalog_page_points_to_the_rules() -> None:
    assert "rules.md" in (ROOT / "docs" / "edits.md").read_text()


def test_every_edit_has_a_source_and_valid_scope() -> None:
    plans = {p.value for p in PlanType}
    for edit in CATALOG.values():
        assert len(edit.source) > 10, edit.code
        assert edit.applies_to and edit.applies_to <= plans, edit.code
        assert set(edit.severities) <= edit.applies_to, edit.code
        if edit.effective and edit.termination:
            assert edit.effective <= edit.termination, edit.code


def test_rules_doc_states_the_severity_policy_and_each_edits_terms() -> None:
    text = render_markdown()
    for words in ("## Severity policy", "will deny or return", "should look", "lot number"):
        assert words in text
    ndc = text.split("### NDC_MISSING", 1)[1].split("###", 1)[0]
    assert "medicare: info" in ndc and "medicaid: error" in ndc and "Source: " in ndc
    jz = text.split("### MODIFIER_JZ_JW_REQUIRED", 1)[1].split("###", 1)[0]
    assert "Plan types: medicare\n" in jz and "2023-07-01 to ..." in jz


def test_an_edit_outside_its_dates_or_plan_types_does_not_fire() -> None:
    jz = CATALOG["MODIFIER_JZ_JW_REQUIRED"]
    assert jz.applies("medicare", date(2023, 7, 1))
    assert not jz.applies("medicare", date(2023, 6, 30))
    assert not jz.applies("commercial", date(2024, 1, 1))
    found = [finding("MODIFIER_JZ_JW_REQUIRED", "x")]
    assert resolve(found, "medicare", date(2023, 6, 30)) == []
    assert resolve(found, "medicaid", date(2024, 1, 1)) == []
    assert [f.severity for f in resolve(found, "medicare", date(2024, 1, 1))] == ["error"]


def test_severity_per_plan_type_rule_grading_and_payer_override() -> None:
    ndc = [finding("NDC_MISSING", "x")]
    day = date(2026, 1, 5)
    graded = {p: resolve(ndc, p, day)[0].severity for p in ("medicare", "medicaid", "commercial")}
    assert graded == {"medicare": "info", "medicaid": "error", "commercial": "error"}
    assert resolve(ndc, "commercial", day, {"NDC_MISSING": "warning"})[0].severity == "warning"
    bsa = [finding("DOSING_BSA_UNKNOWN", "x", severity=Severity.INFO)]
    assert resolve(bsa, "medicaid", day)[0].severity == "info"


def test_edits_command_lists_every_code() -> None:
    result = CliRunner().invoke(cli, ["edits", "--markdown"])
    assert result.exit_code == 0
    for code in CATALOG:
        assert f"## {code}" in result.output
