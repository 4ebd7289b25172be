"""`schemas/` holds exactly what the models export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from streams.cli.main import cli
from streams.contract.schemas import CONTRACT, render

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_exported_schema_matches_model(name: str) -> None:
    model, mode = CONTRACT[name]
    assert (SCHEMAS / name).read_text() == render(model, mode), (
        f"schemas/{name} drifted from the model: run `make schemas`"
    )


def test_export_command_writes_every_schema(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["schemas", "export", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(CONTRACT)
    event_schema = json.loads((tmp_path / "claim-line-event.v1.json").read_text())
    assert set(event_schema["required"]) >= {"schema", "event_id", "event_time", "claim", "line"}
