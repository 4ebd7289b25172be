"""The tables' value codec: compressed states read back, forever and in either form."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

from streams.stream.state_codec import DICTIONARIES, StateCodec
from streams.validation.rollup import ClaimState
from streams.validation.validator import Validator
from tests.conftest import claim_with_line, make_event

DATA = Path(__file__).parent / "data"


def test_a_value_written_with_the_first_dictionary_still_reads() -> None:
    """Written by the release that shipped dictionary 1: if this fails, the dictionary
    or its tag changed, and every changelog written with it is lost."""
    stored = (DATA / "claim-state-v1.zst").read_bytes()
    assert stored[0] == 1
    assert StateCodec().decode(stored) == (DATA / "claim-state-v1.json").read_bytes()


@pytest.mark.parametrize("compression", ["zstd", "none"])
def test_what_is_written_is_what_is_read(validator: Validator, compression: str) -> None:
    codec = StateCodec(compression)  # type: ignore[arg-type]
    state = claim_with_line(validator, make_event("round", claim={"total_lines": 2}))
    text = state.model_dump_json(by_alias=True).encode()
    assert codec.decode(codec.encode(text)) == text
    assert ClaimState.model_validate_json(codec.decode(codec.encode(text))) == state


def test_every_dictionary_ships_with_the_package() -> None:
    """The image installs the package, not the source tree: a dictionary left out of
    its package data would stop every worker at start."""
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["streams.stream"]
    for name in DICTIONARIES.values():
        assert any(fnmatch(f"dictionaries/{name}", g) for g in globs), name


@pytest.mark.parametrize(
    "stored, message",
    [
        (b"\x7fPAT-SECRET claim", r"unknown form \(first byte 0x7f\)"),
        (b"\x01PAT-SECRET claim", "does not decompress"),
    ],
)
def test_bytes_in_no_known_form_are_refused_without_quoting_them(
    stored: bytes, message: str
) -> None:
    with pytest.raises(ValueError, match=message) as refused:
        StateCodec().decode(stored)
    assert "PAT-SECRET" not in str(refused.value)
