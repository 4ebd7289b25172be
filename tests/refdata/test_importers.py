"""CMS file importers, on small files in the published layouts."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from streams import refdata
from streams.cli.main import cli
from streams.refdata.importers import RefdataImportError, import_crosswalk, import_mue
from streams.validation.validator import Validator
from tests.conftest import codes, make_event

CROSSWALK = """\
_2026_CODE,Short Description,LABELER NAME,NDC2,Drug Name,HCPCS dosage,PKG SIZE,PKG QTY,BILLUNITS,BILLUNITSPKG
J9262,Omacetaxine mepesuccinate,Teva Pharmaceuticals USA,63459-0177-14,Synribo,0.01 MG,1,1,350,350
J9299,Injection nivolumab,E.R. Squibb & Sons,00003-3772-11,Opdivo,1 MG,4,1,40,40
J9035,Injection bevacizumab,Genentech,50242-0060-01,Avastin,10 MG,4,1,10,10
J9999,Broken row,Nobody,not-an-ndc,Nothing,1 MG,1,1,1,1
"""

MUE = """\
"CMS NCCI MUE table, Practitioner Services, effective 2026-10-01"
"CPT codes, descriptions and other data only are copyright American Medical Association."
HCPCS/CPT Code,Practitioner Services MUE Values,MUE Adjudication Indicator,MUE Rationale
J9262,600,3 Date of Service Edit: Clinical,Prescribing Information
J9299,480,3 Date of Service Edit: Clinical,Prescribing Information
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_crosswalk_replaces_rows_of_the_codes_it_covers(tmp_path: Path) -> None:
    into = tmp_path / "ref"
    result = import_crosswalk(write(tmp_path, "asp.csv", CROSSWALK), into)
    assert (result.rows, result.codes) == (3, 3)
    assert len(result.skipped) == 1 and "not-an-ndc" in result.skipped[0]
    data = refdata.load(into)
    assert data.version == result.version
    assert data.version.startswith("2026Q4-bundled+crosswalk-2026.")
    avastin = data.ndcs["50242006001"]
    assert (avastin.hcpcs, avastin.billing_units_per_package, avastin.package_mg) == (
        "J9035",
        10,
        100,
    )
    synribo = data.ndcs["63459017714"]
    assert (synribo.status, synribo.package_mg, synribo.single_dose) == ("verified", 3.5, True)
    assert "lyophilized powder" in synribo.package_description  # kept from the bundled row
    assert "00003377412" not in data.ndcs  # J9299 rows came from the file alone
    assert "50242007001" in data.ndcs  # J9301 was not in the file: bundled row kept


def test_verdicts_carry_the_imported_version(tmp_path: Path) -> None:
    into = tmp_path / "ref"
    import_crosswalk(write(tmp_path, "asp.csv", CROSSWALK), into, version="2027Q1-site")
    verdict = Validator(refdata.load(into)).validate(make_event())
    assert verdict.reference_data_version == "2027Q1-site"
    assert verdict.disposition == "pass"


def test_mue_import_sets_the_limit_and_its_basis(tmp_path: Path) -> None:
    into = tmp_path / "ref"
    result = import_mue(write(tmp_path, "mue.csv", MUE), into)
    assert result.rows == 2
    data = refdata.load(into)
    assert (data.mue["J9262"].units, data.mue["J9262"].mai, data.mue["J9262"].basis) == (
        600,
        3,
        "cms",
    )
    line = {"units": 650, "administered_mg": 6.5, "ndc": {"quantity": 2}}
    verdict = Validator(data).validate(make_event(claim={"patient": {"bsa_m2": 2.8}}, line=line))
    assert "UNITS_ABOVE_MUE" in codes(verdict)
    assert "MUE of 600 (CMS MUE, MAI 3)" in verdict.findings[0].message


def test_both_imports_compose_one_version(tmp_path: Path) -> None:
    into = tmp_path / "ref"
    import_crosswalk(write(tmp_path, "asp.csv", CROSSWALK), into)
    import_mue(write(tmp_path, "mue.csv", MUE), into)
    again = import_mue(write(tmp_path, "mue.csv", MUE), into)
    parts = again.version.split("+")
    assert parts[0] == "2026Q4-bundled"
    assert [p.split("-")[0] for p in parts[1:]] == ["crosswalk", "mue"]


@pytest.mark.parametrize(
    ("importer", "text", "message"),
    [
        (import_crosswalk, "HCPCS,NDC\nJ9262,63459-0177-14\n", "no header row"),
        (import_crosswalk, "_2026_CODE,NDC2\nJ9262,63459-0177-14\n", "missing column"),
        (import_mue, "just,a,file\n", "no header row"),
    ],
)
def test_wrong_layouts_fail_clearly(tmp_path: Path, importer, text: str, message: str) -> None:
    with pytest.raises(RefdataImportError, match=message):
        importer(write(tmp_path, "bad.csv", text), tmp_path / "ref")


def test_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    into = str(tmp_path / "ref")
    xwalk = write(tmp_path, "asp.csv", CROSSWALK)
    result = runner.invoke(cli, ["refdata", "import", "crosswalk", str(xwalk), "--into", into])
    assert result.exit_code == 0, result.output
    assert "imported 3 NDC row(s) for 3 code(s)" in result.output
    mue = write(tmp_path, "mue.csv", MUE)
    assert runner.invoke(cli, ["refdata", "import", "mue", str(mue), "--into", into]).exit_code == 0
    shown = runner.invoke(cli, ["refdata", "show", "--dir", into])
    assert shown.exit_code == 0
    assert "ndc.csv              override" in shown.output
    assert "MUE 600 units/day, MAI 3 (cms)" in shown.output
    assert (
        "commercial          prior auth required; step therapy 2 TKIs; timely filing 90 days"
        in (shown.output)
    )
    bad = runner.invoke(cli, ["refdata", "import", "mue", str(xwalk), "--into", into])
    assert bad.exit_code != 0 and "no header row" in bad.output
