"""Code similarity: typos, transpositions and units evidence."""

from __future__ import annotations

import pytest

from streams.refdata import ReferenceData
from streams.validation.similarity import Evidence, candidates, typo_kind
from tests.conftest import make_event


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("J9226", "transposition"),
        ("J9622", "transposition"),
        ("J9626", "transposition"),
        ("J2962", "transposition"),
        ("J9263", "typo"),
        ("J6262", "typo"),
        ("J9262", None),
        ("J9666", None),
        ("J9045", None),
        ("J926", None),
    ],
)
def test_typo_kind(code: str, kind: str | None) -> None:
    assert typo_kind(code) == kind


def _candidates(ref: ReferenceData, **line: object) -> list:
    ev = make_event(line=line)
    billed = ref.hcpcs.get(ev.line.hcpcs)
    return candidates(ev.line, billed, None, None, ref)


def test_units_far_above_the_billed_drug_but_whole_vials_of_another(ref: ReferenceData) -> None:
    found = _candidates(ref, hcpcs="J9301", units=700, ndc=None)
    assert [(c.code, c.evidence) for c in found] == [("J9262", Evidence.UNITS)]
    assert "exactly 2 vial(s)" in found[0].reason
    assert not found[0].strong


def test_plausible_units_suggest_nothing(ref: ReferenceData) -> None:
    assert _candidates(ref, hcpcs="J9301", units=100, ndc=None) == []
    assert _candidates(ref, hcpcs="J9262", units=240, ndc=None) == []
