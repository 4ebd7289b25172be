"""The edit catalog: complete, consistent, and documented."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from streams.cli.main import cli
from streams.contract.models import Category, Severity
from streams.validation.rules import CATALOG, RULE_MODULES
from streams.validation.rules.catalog import render_markdown

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
    assert (ROOT / "docs" / "edits.md").read_text() == render_markdown(), "run `make docs`"


def test_edits_command_lists_every_code() -> None:
    result = CliRunner().invoke(cli, ["edits", "--markdown"])
    assert result.exit_code == 0
    for code in CATALOG:
        assert f"## {code}" in result.output
