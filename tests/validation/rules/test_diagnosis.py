"""Diagnoses near CML that are not CML, TKIs counted as drugs, codes used outside their span."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

from streams import refdata
from streams.contract.models import Documentation
from streams.validation.rules.documentation import tki_history
from streams.validation.validator import Validator
from tests.conftest import codes, make_event


def test_history_of_and_excludes1_codes_come_with_their_reason(validator: Validator) -> None:
    verdict = validator.validate(make_event(claim={"diagnosis_codes": ["Z85.6", "C93.11"]}))
    assert codes(verdict) == ["DX_NOT_SUPPORTING"]
    message = verdict.findings[0].message
    assert "Z85.6: a personal history code" in message
    assert "C93.11: chronic myelomonocytic leukemia (C93.1-) is an Excludes1 neighbour" in message


def test_an_excludes1_neighbour_beside_cml_is_a_conflict_not_a_denial(
    validator: Validator,
) -> None:
    verdict = validator.validate(make_event(claim={"diagnosis_codes": ["C9210", "D47.1"]}))
    assert codes(verdict) == ["DX_EXCLUDES1_CONFLICT"]
    assert verdict.disposition == "warn"
    history = validator.validate(make_event(claim={"diagnosis_codes": ["C92.10", "Z85.6"]}))
    assert codes(history) == []


def test_tkis_count_as_drugs() -> None:
    names = refdata.load().tkis
    history = tki_history(
        Documentation(
            prior_tkis=["Gleevec", "IMATINIB mesylate", "hydroxyurea", "Scemblix", "  sprycel "],
            tki_resistance_or_intolerance=True,
        ),
        names,
    )
    assert history.distinct == ("imatinib", "asciminib", "dasatinib")
    assert history.repeated == ("Gleevec and IMATINIB mesylate are one TKI (imatinib)",)
    assert history.not_tkis == ("hydroxyurea",)
    assert history.met(3) and not history.met(4)
    listed_only = tki_history(Documentation(prior_tkis=["imatinib", "dasatinib"]), names)
    assert not listed_only.met(2)
    assert listed_only.field() == "documentation.tki_resistance_or_intolerance"


def test_the_payers_step_therapy_count_is_configuration(validator: Validator) -> None:
    three = {"payer": {"payer_id": "EXAMPLE-THREE-TKIS", "plan_type": "commercial"}}
    doc = {"prior_tkis": ["Tasigna", "nilotinib", "Bosulif"], "tki_resistance_or_intolerance": True}
    verdict = validator.validate(make_event(claim=three, documentation=doc))
    assert codes(verdict) == ["PAYER_STEP_THERAPY"]
    assert "requires 3" in verdict.findings[0].message
    two = {"payer": {"payer_id": "ANY-COMMERCIAL", "plan_type": "commercial"}}
    assert codes(validator.validate(make_event(claim=two, documentation=doc))) == []


def test_a_code_is_checked_against_its_span_on_the_date_of_service(
    validator: Validator,
) -> None:
    early = {"service_date": "2013-12-31", "modifiers": []}
    verdict = validator.validate(make_event(line=early, event_time="2014-01-02T09:00:00Z"))
    assert codes(verdict) == ["CODING_CODE_NOT_IN_EFFECT", "DX_NOT_IN_EFFECT"]
    assert verdict.findings[0].suggestion is not None
    assert "C9297" in verdict.findings[0].suggestion


def test_a_modifier_after_its_termination_date_is_an_error() -> None:
    ref = refdata.load()
    kb = dataclasses.replace(ref.modifiers["KX"], termination_date=date(2020, 12, 31))
    ref = dataclasses.replace(ref, modifiers=ref.modifiers | {"KX": kb})
    line = {"modifiers": ["KX"], "service_date": "2021-01-04"}
    verdict = Validator(ref).validate(make_event(line=line, event_time="2021-01-05T09:00:00Z"))
    assert codes(verdict) == ["MODIFIER_NOT_IN_EFFECT"]
    assert "was terminated on 2020-12-31" in verdict.findings[0].message


def test_a_diagnosis_file_without_the_new_columns_still_loads(tmp_path: Path) -> None:
    """reason and the dates were added later: a user's older icd10.csv stays valid."""
    rows = ["code,description,support,status,source", "C92.10,CML,supports,verified,ICD-10-CM"]
    (tmp_path / "icd10.csv").write_text("\n".join(rows) + "\n")
    refdata.stamp(tmp_path)
    loaded = refdata.load(tmp_path).diagnoses["C9210"]
    assert loaded.support == "supports"
    assert loaded.effective_date is None
