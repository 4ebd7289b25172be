"""Exports the contract models' JSON Schemas to `schemas/`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from streams.contract.models import ClaimLineEvent, ClaimVerdict, DeadLetter, LineVerdict

# File name -> (model, mode): inputs are described as validated, outputs as serialized.
CONTRACT: dict[str, tuple[type[BaseModel], str]] = {
    "claim-line-event.v1.json": (ClaimLineEvent, "validation"),
    "claim-line-verdict.v1.json": (LineVerdict, "serialization"),
    "claim-verdict.v1.json": (ClaimVerdict, "serialization"),
    "dead-letter.v1.json": (DeadLetter, "serialization"),
}


def render(model: type[BaseModel], mode: str) -> str:
    schema: dict[str, Any] = model.model_json_schema(by_alias=True, mode=mode)  # type: ignore[arg-type]
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def export(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (model, mode) in CONTRACT.items():
        path = directory / name
        path.write_text(render(model, mode))
        written.append(path)
    return written
