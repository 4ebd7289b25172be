"""NDC normalization to 11 digits."""

from __future__ import annotations

import pytest

from streams.refdata.ndc import format_ndc11, normalize_ndc


@pytest.mark.parametrize(
    ("raw", "ndc11"),
    [
        ("63459017714", "63459017714"),
        ("63459-0177-14", "63459017714"),
        ("3459-0177-14", "03459017714"),  # 4-4-2
        ("63459-177-14", "63459017714"),  # 5-3-2
        ("63459-0177-4", "63459017704"),  # 5-4-1
        (" 00003-3774-12 ", "00003377412"),
    ],
)
def test_converts_to_eleven_digits(raw: str, ndc11: str) -> None:
    assert normalize_ndc(raw).ndc11 == ndc11


def test_unhyphenated_ten_digits_is_ambiguous() -> None:
    result = normalize_ndc("6345901771")
    assert not result.ok
    assert "ambiguous" in (result.problem or "")


@pytest.mark.parametrize("raw", ["63459-01X7-14", "123", "634590177141", "4-4-4", "1234-123-12"])
def test_malformed_codes_are_rejected(raw: str) -> None:
    result = normalize_ndc(raw)
    assert not result.ok
    assert "not 11 digits" in (result.problem or "")


def test_format() -> None:
    assert format_ndc11("63459017714") == "63459-0177-14"
