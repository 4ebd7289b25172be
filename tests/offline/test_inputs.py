"""`j9262 validate FILE` on our own 837P, 837I, HL7 DFT and FHIR Bundle files, with no
format flag: one verdict per service line, claim ids and line numbers from the source,
the NDC (and the BSA where the file has it) found, the planted unit errors flagged, and
what cannot be mapped dead-lettered naming the format and where it broke. Through the
installed command, as a user runs it; the splitting of files into records is tested
directly below."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from streams.adapters import Format
from streams.offline.inputs import open_detected, split
from tests.offline.test_validate_cli import J9262, assert_one_line_error, j9262

FIXTURES = Path(__file__).parents[1] / "adapters" / "fixtures"
NDC = "63459017714"
UNIT_CODES = {"UNITS_NDC_SCALE", "UNITS_PER_VIAL", "UNITS_NDC_MISMATCH", "UNITS_FRACTIONAL"}

#: fixture -> (claim id, line number) of each verdict -> the unit edit planted there, or None.
EXPECTED: dict[str, dict[tuple[str, int], str | None]] = {
    "j9262-837p.x12": {
        ("CLM-P-0001", 1): None,
        ("CLM-P-0001", 2): None,
        ("CLM-P-0002", 1): "UNITS_NDC_SCALE",
    },
    "j9262-837i.x12": {
        ("CLM-I-0001", 1): None,
        ("CLM-I-0001", 2): "UNITS_PER_VIAL",
        ("CLM-I-0001", 3): None,
    },
    # FT1 5 is a credit reversing FT1 4: neither is a line to answer.
    "j9262-dft-p03.mllp": {
        ("ACCT-7781", 1): None,
        ("ACCT-7781", 2): None,
        ("ACCT-7781", 3): "UNITS_FRACTIONAL",
    },
    "j9262-fhir-bundle.json": {
        ("CLM-F-0001", 1): None,
        ("CLM-F-0001", 2): None,
        ("CLM-F-0001", 3): "UNITS_NDC_SCALE",
    },
}
#: fixture -> (format, where it broke, claim id, line number) of each dead letter.
DEAD: dict[str, list[tuple[str, str, str, int]]] = {
    "j9262-837p.x12": [("x12-837p", "SV104 (segment 47)", "CLM-P-0002", 2)],
    "j9262-837i.x12": [],
    "j9262-dft-p03.mllp": [],
    "j9262-fhir-bundle.json": [("fhir-r4", "Claim.item[3].quantity.value", "CLM-F-0001", 4)],
}
EXPECTED_CLAIM = re.compile(r"\(claim (\S+), line (\d+)\)")
BSA = {"j9262-dft-p03.mllp": 1.85, "j9262-fhir-bundle.json": 1.85}
J_CODES = {"J9262"}


def read_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_fixture_validates_with_no_format_flag(name: str, tmp_path: Path) -> None:
    out, dead, claims = tmp_path / "v.jsonl", tmp_path / "dl.jsonl", tmp_path / "cv.jsonl"
    done = j9262(
        "validate",
        str(FIXTURES / name),
        "-o",
        str(out),
        "--dead-letters",
        str(dead),
        "--claim-verdicts",
        str(claims),
    )
    assert done.returncode == 0, done.stderr
    verdicts = read_lines(out)
    keys = [(str(v["claim_id"]), int(str(v["line_number"]))) for v in verdicts]
    assert sorted(keys) == sorted(EXPECTED[name]), "one verdict per service line"
    for v in verdicts:
        key = (str(v["claim_id"]), int(str(v["line_number"])))
        codes = {f["code"] for f in v["findings"]}  # type: ignore[attr-defined]
        planted = EXPECTED[name][key]
        assert codes & UNIT_CODES == ({planted} if planted else set()), (key, codes)
        if v["hcpcs"] in J_CODES:
            enrichment = v["enrichment"]
            assert enrichment["ndc"]["ndc11"] == NDC, key  # type: ignore[index]
            assert enrichment["bsa_m2"] == BSA.get(name), key  # type: ignore[index]
    letters = read_lines(dead)
    found = []
    for letter in letters:
        detail = str(letter["detail"])
        fmt, where = detail.split(" ", 1)[0], letter["errors"][0]["loc"]  # type: ignore[index]
        claim_id, line = EXPECTED_CLAIM.search(detail).groups()  # type: ignore[union-attr]
        found.append((fmt, where, claim_id, int(line)))
        assert base64.b64decode(str(letter["payload_base64"])) == (FIXTURES / name).read_bytes()
        assert letter["source"]["topic"] == f"file:{name}"  # type: ignore[index]
    assert found == DEAD[name]
    assert len(read_lines(claims)) == len({k[0] for k in EXPECTED[name]})


def test_a_credit_withdraws_its_charge_and_the_claim_still_completes(tmp_path: Path) -> None:
    claims = tmp_path / "cv.jsonl"
    done = j9262(
        "validate",
        str(FIXTURES / "j9262-dft-p03.mllp"),
        "-o",
        str(tmp_path / "v.jsonl"),
        "--claim-verdicts",
        str(claims),
    )
    assert done.returncode == 0, done.stderr
    assert "1 charge(s) withdrawn by a credit in the same message (no verdict)" in done.stderr
    (claim,) = read_lines(claims)
    assert claim["complete"] is True
    assert [line["line_number"] for line in claim["lines"]] == [1, 2, 3]  # type: ignore[attr-defined]


def test_several_interchanges_and_messages_in_one_file(tmp_path: Path) -> None:
    x12 = (FIXTURES / "j9262-837p.x12").read_bytes()
    hl7 = (FIXTURES / "j9262-dft-p03.mllp").read_bytes()
    for name, body, per_copy in (("three.x12", x12 * 3, 3), ("three.hl7", hl7 * 3, 3)):
        path = tmp_path / name
        path.write_bytes(body)
        done = j9262("validate", str(path), "-o", str(tmp_path / "v.jsonl"))
        assert done.returncode == 0, done.stderr
        # The same record three times: the same event ids, so the same verdicts.
        verdicts = read_lines(tmp_path / "v.jsonl")
        assert len(verdicts) == 3 * per_copy
        assert len({v["verdict_id"] for v in verdicts}) == per_copy


def test_input_format_overrides_detection(tmp_path: Path) -> None:
    done = j9262(
        "validate",
        str(FIXTURES / "j9262-837p.x12"),
        "--input-format",
        "hl7",
        "-o",
        str(tmp_path / "v.jsonl"),
        "--dead-letters",
        str(tmp_path / "dl.jsonl"),
    )
    assert done.returncode == 0, done.stderr
    assert read_lines(tmp_path / "v.jsonl") == []
    (letter,) = read_lines(tmp_path / "dl.jsonl")
    assert str(letter["detail"]).startswith("hl7v2-dft ")
    assert_one_line_error(j9262("validate", "-", "--input-format", "edifact"))


def test_a_bad_hl7_profile_is_one_line(tmp_path: Path) -> None:
    profile = tmp_path / "site.yaml"
    profile.write_text("no_such_field: FT1-10\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("J9262_")}
    done = subprocess.run(
        [J9262, "validate", str(FIXTURES / "j9262-dft-p03.mllp")],
        capture_output=True,
        text=True,
        env={**env, "J9262_HL7_PROFILE": str(profile)},
        timeout=120,
        check=False,
    )
    assert_one_line_error(done)
    assert "site.yaml" in done.stderr


# --- the file cut into records ----------------------------------------------


def test_x12_is_cut_after_each_iea_with_the_separators_its_isa_declares() -> None:
    one = (FIXTURES / "j9262-837p.x12").read_bytes()
    other = one.replace(b"*", b"|").replace(b"~", b"\n")
    body = b"\xef\xbb\xbf\n" + one + b"\r\n\r\n" + other + b"\n" + one
    for size in (1, 7, 100, 1 << 16):
        pieces = [body[i : i + size] for i in range(0, len(body), size)]
        records = list(split(pieces, Format.X12_837P))
        # Each record keeps the blanks after it; nothing but the leading blanks is dropped.
        assert [r.data.rstrip() for r in records] == [one.rstrip(), other.rstrip(), one.rstrip()]
        assert b"".join(r.data for r in records) == body[4:], size
        second = 2 + one.count(b"\n") + 2
        assert [r.line for r in records] == [2, second, second + other.count(b"\n") + 1], size


def test_hl7_is_cut_per_mllp_frame_or_before_each_msh() -> None:
    framed = (FIXTURES / "j9262-dft-p03.mllp").read_bytes()
    plain = framed.strip(b"\x0b\x1c\r")
    for body in (framed + framed, plain + b"\r" + plain + b"\n"):
        for size in (1, 64, 1 << 16):
            pieces = [body[i : i + size] for i in range(0, len(body), size)]
            records = [r.data for r in split(pieces, Format.HL7V2_DFT)]
            assert len(records) == 2, size
            assert records[0].rstrip() == records[1].rstrip(), size
            assert b"".join(records) == body, size


def test_a_cut_off_x12_file_is_one_record_that_fails() -> None:
    one = (FIXTURES / "j9262-837p.x12").read_bytes()
    cut = one[: len(one) // 2]
    assert [r.data for r in split([one + cut], Format.X12_837P)] == [one, cut]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("j9262-837p.x12", Format.X12_837P),
        ("j9262-837i.x12", Format.X12_837P),  # X12; GS08 tells 837I when it is read
        ("j9262-dft-p03.mllp", Format.HL7V2_DFT),
        ("j9262-fhir-bundle.json", Format.FHIR_R4),
    ],
)
def test_detection_reads_the_first_bytes_and_gives_the_whole_input_back(
    name: str, expected: Format
) -> None:
    data = (FIXTURES / name).read_bytes()
    fmt, stream = open_detected(io.BytesIO(data))
    assert fmt is expected
    assert stream.read() == data


def test_anything_else_is_read_as_json_lines() -> None:
    for data in (b"", b"garbage\n", b'{"event_id": "x"}\n', b"\x00\x00\x00\x00\x01{}"):
        fmt, stream = open_detected(io.BytesIO(data))
        assert fmt is Format.JSON_LINES
        assert list(stream) == io.BytesIO(data).readlines()
