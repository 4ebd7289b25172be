"""Bad parts fail alone, named where they broke; good parts still become events."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from streams.adapters import Format, Options, adapt, load_profile
from streams.adapters.hl7v2 import ProfileError
from streams.contract.models import DeadLetterReason
from streams.samples import event

FIXTURES = Path(__file__).parent / "fixtures"


def test_x12_bad_units_fail_at_sv104_with_their_segment_while_the_rest_maps() -> None:
    result = adapt((FIXTURES / "j9262-837p.x12").read_bytes())
    (failure,) = result.failures
    assert failure.format is Format.X12_837P
    # SV1*HC:J9262:JZ*4125*UN*3O5 is the 47th segment of the interchange.
    assert failure.location == "SV104 (segment 47)"
    assert (failure.claim_id, failure.line_number) == ("CLM-P-0002", 2)
    assert failure.reason is DeadLetterReason.SCHEMA_VIOLATION
    assert len(result.events) == 3


def test_x12_cut_off_interchange_keeps_finished_claims_and_names_the_cut() -> None:
    data = (FIXTURES / "j9262-837p.x12").read_bytes()
    cut = data[: data.index(b"LX*2~\nSV1*HC:J9262:JZ*4125*UN*3O5")]
    result = adapt(cut)
    assert [(e["claim"]["claim_id"], e["line"]["line_number"]) for e in result.events] == [
        ("CLM-P-0001", 1),
        ("CLM-P-0001", 2),
    ]
    (failure,) = result.failures
    assert failure.location == "segment 45"  # the CTP that ends what was read
    assert "without IEA" in failure.message


def test_x12_garbage_after_isa_is_a_failure_not_an_exception() -> None:
    result = adapt(b"ISA*00*garbage~")
    assert result.format is Format.X12_837P
    assert not result.events
    assert result.failures


def test_hl7_bad_quantity_fails_at_its_ft1_field() -> None:
    data = (FIXTURES / "j9262-dft-p03.mllp").read_bytes()
    bad = data.replace(b"|||119|", b"|||1l9|", 1)
    result = adapt(bad)
    (failure,) = result.failures
    assert failure.location == "FT1[2]-10"
    assert failure.line_number == 2
    assert len(result.events) == 3


def test_hl7_site_profile_moves_fields(tmp_path: Path) -> None:
    """A site that sends the HCPCS in FT1-7 only and the units in FT1-12."""
    profile = tmp_path / "site.yaml"
    profile.write_text(
        "hcpcs: [FT1-7.1]\nunits: FT1-12\nclaim_id: [PV1-19.1]\n"
        "claim_type: {const: institutional}\nrevenue_code: [FT1-13.1]\n",
        encoding="utf-8",
    )
    message = (
        "MSH|^~\\&|SITE|H|J|V|20261120||DFT^P03|1|P|2.3\r"
        "PID|1||MRN-1\r"
        "PV1|1|O" + "|" * 17 + "VISIT-9\r"
        "IN1|1||PAYER-1\r"
        "FT1|1|||20261120||CG|J9262^omacetaxine|||1|4125|350|0636\r"
    ).encode()
    result = adapt(message, options=Options(hl7_profile=load_profile(profile)))
    (line,) = result.events
    assert line["claim"]["claim_id"] == "VISIT-9"
    assert line["claim"]["claim_type"] == "institutional"
    assert line["line"]["units"] == "350"
    assert line["line"]["revenue_code"] == "0636"


def test_fhir_bad_item_fails_at_its_fhir_path_and_siblings_pass() -> None:
    result = adapt((FIXTURES / "j9262-fhir-bundle.json").read_bytes())
    (failure,) = result.failures
    assert failure.location == "Claim.item[3].quantity.value"
    assert (failure.claim_id, failure.line_number) == ("CLM-F-0001", 4)
    assert len(result.events) == 3


def test_fhir_claim_without_patient_fails_once_for_the_claim() -> None:
    claim = orjson.loads((FIXTURES / "j9262-fhir-bundle.json").read_bytes())["entry"][0]["resource"]
    del claim["patient"]
    result = adapt(orjson.dumps(claim))
    (failure,) = result.failures
    assert failure.location == "Claim.patient"
    assert not result.events


def test_json_lines_bad_line_is_named_by_number() -> None:
    good = orjson.dumps(event("a"))
    bad = orjson.dumps({**event("b"), "line": {"hcpcs": "J9262"}})
    result = adapt(b"\n".join([good, bad, b"{not json", good]))
    assert result.format is Format.JSON_LINES
    assert [f.location for f in result.failures] == ["line 2", "line 3"]
    assert [f.reason for f in result.failures] == [
        DeadLetterReason.SCHEMA_VIOLATION,
        DeadLetterReason.INVALID_JSON,
    ]
    assert len(result.events) == 2


def test_avro_without_a_schema_resolver_is_a_located_failure() -> None:
    result = adapt(b"\x00\x00\x00\x00\x07\x02\x04")
    (failure,) = result.failures
    assert failure.location == "schema id 7"
    assert result.schema_id == 7


def test_unknown_format_name_is_refused() -> None:
    result = adapt(b"{}", format="edifact")
    (failure,) = result.failures
    assert "unknown format 'edifact'" in failure.message


def test_hl7_profile_with_an_unknown_key_or_a_foreign_charge_field_is_refused(
    tmp_path: Path,
) -> None:
    profile = tmp_path / "site.yaml"
    profile.write_text("unit: [FT1-10]\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="unknown key 'unit'"):
        load_profile(profile)
    profile.write_text("units: [ZFT-3]\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="a charge's fields are in its FT1"):
        load_profile(profile)
