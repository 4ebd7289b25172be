"""Bad reference data is refused as a whole, each error naming file, line and column."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from streams import refdata
from streams.refdata.importers import import_mue
from streams.refdata.schema import MAX_ERRORS_PER_FILE


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A full copy of the bundled folder, manifest included: valid as it is."""
    folder = tmp_path / "ref"
    shutil.copytree(refdata.BUNDLED, folder)
    return folder


def errors(folder: Path | None) -> list[str]:
    """The load's errors, with the folder's path cut off so they read as the user sees them."""
    with pytest.raises(refdata.RefdataError) as caught:
        refdata.load(folder)
    assert str(caught.value) == "\n".join(caught.value.errors)
    return [e.replace(f"{folder}/", "") for e in caught.value.errors]


def edit(folder: Path, name: str, old: str, new: str, *, stamp: bool = True) -> None:
    text = (folder / name).read_text()
    assert old in text, f"{old!r} not in {name}"
    (folder / name).write_text(text.replace(old, new, 1))
    if stamp:
        refdata.stamp(folder)


def append(folder: Path, name: str, *rows: str) -> None:
    with (folder / name).open("a") as fh:
        fh.writelines(f"{row}\n" for row in rows)
    refdata.stamp(folder)


def test_a_full_copy_of_the_bundled_folder_passes(site: Path) -> None:
    assert refdata.load(site).version == refdata.load().version


def test_a_missing_folder_is_an_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    with pytest.raises(refdata.RefdataError) as caught:
        refdata.load(missing)
    assert caught.value.errors == [f"{missing}: reference data folder does not exist"]


def test_a_file_given_as_the_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "mue.csv").write_text("")
    with pytest.raises(refdata.RefdataError, match=r"mue\.csv: reference data folder is not a"):
        refdata.load(tmp_path / "mue.csv")


def test_a_negative_mue_names_the_file_row_and_column(site: Path) -> None:
    append(site, "mue.csv", "J9299,-3,3,Clinical,cms,verified,CMS MUE table")
    assert errors(site) == ["mue.csv:3: column 'mue': -3 is below 0"]


def test_an_ndc_file_with_no_rows_is_refused(site: Path) -> None:
    header = (site / "ndc.csv").read_text().splitlines()[0]
    (site / "ndc.csv").write_text(header + "\n")
    refdata.stamp(site)
    assert errors(site) == ["ndc.csv:1: has a header but no rows"]


def test_an_empty_ndc_file_is_refused(site: Path) -> None:
    (site / "ndc.csv").write_text("")
    refdata.stamp(site)
    [error] = errors(site)
    assert error.startswith("ndc.csv:1: the file is empty; its header must name ndc11, drug,")


def test_a_missing_manifest_is_refused(site: Path) -> None:
    (site / "manifest.yaml").unlink()
    assert errors(site) == [
        "manifest.yaml: is missing: a reference data folder needs one listing each of its "
        f"files with its sha256 (`j9262 refdata stamp {site}` writes it)"
    ]


def test_a_file_changed_after_stamping_is_refused_at_its_manifest_line(site: Path) -> None:
    edit(site, "mue.csv", "J9262,700,", "J9262,7000,", stamp=False)
    lines = (site / "manifest.yaml").read_text().splitlines()
    line = next(i for i, ln in enumerate(lines, 1) if ln == "  mue.csv:") + 2  # its sha256
    [error] = errors(site)
    assert error.startswith(
        f"manifest.yaml:{line}: key 'files.mue.csv.sha256': mue.csv changed since it was "
        "stamped (its sha256 is "
    )
    assert error.endswith(f"review the change, then run `j9262 refdata stamp {site}`")
    refdata.stamp(site)
    assert refdata.load(site).mue["J9262"].units == 7000


def test_the_checksum_survives_a_dropped_final_newline_and_crlf_line_ends(site: Path) -> None:
    """As a ConfigMap mounts a file (`|-`) or a Windows editor saves it: no row changed."""
    mue = (site / "mue.csv").read_bytes()
    assert mue.endswith(b"\n") and b"\r" not in mue
    digest = hashlib.sha256(mue).hexdigest()
    assert f"sha256: {digest}" in (site / "manifest.yaml").read_text()  # what sha256sum prints
    (site / "mue.csv").write_bytes(mue.rstrip(b"\n").replace(b"\n", b"\r\n"))
    assert refdata.load(site).mue["J9262"].units == 700


def test_an_unlisted_an_unknown_and_an_absent_file_are_refused(site: Path) -> None:
    (site / "mue.csv").unlink()  # listed, absent
    (site / "notes.txt").write_text("hello\n")  # not a reference file
    (site / ".gitkeep").write_text("")  # hidden: ignored
    manifest = (site / "manifest.yaml").read_text()
    start = manifest.index("  drugs.yaml:")
    end = manifest.index("  payer_policies.yaml:")
    (site / "manifest.yaml").write_text(manifest[:start] + manifest[end:])  # drugs.yaml unlisted
    line = manifest[: manifest.index("  mue.csv:")].count("\n") + 1
    assert errors(site) == [
        f"manifest.yaml:{line}: key 'files.mue.csv': mue.csv is listed but not in the folder",
        f"drugs.yaml: is not listed in manifest.yaml (`j9262 refdata stamp {site}` adds it)",
        "notes.txt: is not a reference file; the files are hcpcs.csv, ndc.csv, icd10.csv, "
        "modifiers.csv, mue.csv, drugs.yaml, payer_policies.yaml, administration.csv, tkis.csv",
    ]


def test_a_manifest_without_checksums_asks_for_a_stamp_and_the_stamp_keeps_sources(
    tmp_path: Path,
) -> None:
    shutil.copy(refdata.BUNDLED / "ndc.csv", tmp_path / "ndc.csv")
    (tmp_path / "manifest.yaml").write_text(
        "version: 2026Q3-site\nfiles:\n  ndc.csv: CMS ASP NDC-HCPCS crosswalk 2026Q3\n"
    )
    assert errors(tmp_path) == [
        "manifest.yaml:3: key 'files.ndc.csv': has a source but no sha256 (written before "
        "checksums existed); `j9262 refdata stamp FOLDER` adds them"
    ]
    refdata.stamp(tmp_path)
    data = refdata.load(tmp_path)
    assert data.version == "2026Q3-site"
    assert data.sources["ndc.csv"] == "CMS ASP NDC-HCPCS crosswalk 2026Q3"


def test_a_stamp_tags_the_version_only_when_a_file_changed(site: Path) -> None:
    assert refdata.stamp(site) == "2026Q4-bundled"  # a copy: nothing changed
    edit(site, "mue.csv", "J9262,700,", "J9262,650,", stamp=False)
    tagged = refdata.stamp(site)
    assert tagged.startswith("2026Q4-bundled+local-") and len(tagged) == len("2026Q4-bundled") + 15
    assert refdata.stamp(site) == tagged
    edit(site, "mue.csv", "J9262,650,", "J9262,600,", stamp=False)
    again = refdata.stamp(site)
    assert again.startswith("2026Q4-bundled+local-") and again != tagged
    assert refdata.stamp(site, "2027Q1-site") == refdata.load(site).version == "2027Q1-site"


def test_a_missing_column_is_named_on_the_header_line(site: Path) -> None:
    edit(site, "hcpcs.csv", ",role,", ",kind,")
    assert errors(site) == [
        "hcpcs.csv:1: column 'role' is missing (the header has code, descriptor, "
        "billing_unit_mg, drug, container, kind, effective_date, termination_date, "
        "replaced_by, status, source)"
    ]


def test_a_termination_before_the_effective_date_is_refused(site: Path) -> None:
    edit(site, "hcpcs.csv", "2013-07-01,2013-12-31", "2013-07-01,2013-06-30")
    assert errors(site) == [
        "hcpcs.csv:3: column 'termination_date': 2013-06-30 is before effective_date 2013-07-01"
    ]


@pytest.mark.parametrize(
    ("name", "old", "new", "error"),
    [
        (
            "hcpcs.csv",
            "J9045,",
            "J945,",
            "hcpcs.csv:4: column 'code': 'J945' is not a HCPCS Level II code (a letter and "
            "4 digits, e.g. J9262)",
        ),
        (
            "ndc.csv",
            "00003377211,",
            "0003-3772-11,",
            "ndc.csv:3: column 'ndc11': '0003-3772-11' is not an 11-digit NDC in the 5-4-2 "
            "form without hyphens (e.g. 63459017714)",
        ),
        (
            "ndc.csv",
            ",true,unconfirmed,",
            ",true,probably,",
            "ndc.csv:2: column 'status': 'probably' is not one of 'verified' or 'unconfirmed'",
        ),
        (
            "ndc.csv",
            "40 mg/4 mL single-dose vial,40,4,40,",
            "40 mg/4 mL single-dose vial,40,4,0,",
            "ndc.csv:3: column 'billing_units_per_package': 0 is not above 0",
        ),
        (
            "ndc.csv",
            "40 mg/4 mL single-dose vial,40,4,40,true",
            "40 mg/4 mL single-dose vial,40,4,40,sometimes",
            "ndc.csv:3: column 'single_dose': 'sometimes' is not true or false",
        ),
        (
            "modifiers.csv",
            "2017-01-01",
            "01/01/2017",
            "modifiers.csv:2: column 'effective_date': '01/01/2017' is not a date in the form "
            "YYYY-MM-DD",
        ),
        (
            "mue.csv",
            "J9262,700,3,",
            "J9262,seven hundred,3,",
            "mue.csv:2: column 'mue': 'seven hundred' is not a number",
        ),
        (
            "mue.csv",
            "J9262,700,3,",
            "J9262,700,7,",
            "mue.csv:2: column 'mai': 7 is above 3",
        ),
        (
            "icd10.csv",
            ",supports,",
            ",maybe,",
            "icd10.csv:2: column 'support': 'maybe' is not one of 'supports', "
            "'payer_dependent', 'incomplete', 'history_of' or 'excludes1'",
        ),
        (
            "administration.csv",
            "96401,subcutaneous,",
            "96401,oral,",
            "administration.csv:2: column 'route': 'oral' is not one of 'subcutaneous', "
            "'intravenous', 'intramuscular' or 'other'",
        ),
        (
            "hcpcs.csv",
            "2013-12-31,J9262,",
            "2013-12-31,J9999,",
            "hcpcs.csv:3: column 'replaced_by': 'J9999' is not a code of hcpcs.csv",
        ),
        (
            "hcpcs.csv",
            "CMS HCPCS Level II\nC9297",
            "\nC9297",
            "hcpcs.csv:2: column 'source': is empty",
        ),
        (
            "icd10.csv",
            "C92.12,",
            "C9211,",
            "icd10.csv:4: column 'code': 'C9211' repeats line 3",
        ),
        (
            "modifiers.csv",
            "JZ,no_waste,",
            "JZ,",
            "modifiers.csv:3: has 5 fields; the header has 6",
        ),
        (
            "drugs.yaml",
            "dose_mg_per_m2: 1.25",
            "dose_mg_per_m2: -1.25",
            "drugs.yaml:8: key 'omacetaxine mepesuccinate.dose_mg_per_m2': -1.25 is not above 0",
        ),
        (
            "drugs.yaml",
            "max_single_dose_status: unconfirmed",
            "max_single_dose_staus: unconfirmed",
            "drugs.yaml:39: key 'nivolumab.max_single_dose_staus': is not a known key",
        ),
        (
            "drugs.yaml",
            "  route: intravenous\n  max_single_dose_mg: 480",
            "  route: [intravenous\n  max_single_dose_mg: 480",
            "drugs.yaml:38: is not valid YAML: did not find expected ',' or ']'",
        ),
    ],
)
def test_a_bad_value_is_refused_naming_file_line_and_column(
    site: Path, name: str, old: str, new: str, error: str
) -> None:
    edit(site, name, old, new)
    assert errors(site) == [error]


def test_every_error_of_every_file_is_reported_up_to_a_limit_per_file(site: Path) -> None:
    rows = [f"J{9100 + i},-{i + 1},3,Clinical,cms,verified,CMS MUE table" for i in range(25)]
    append(site, "mue.csv", *rows)
    edit(site, "hcpcs.csv", "J9045,", "J945,")
    found = errors(site)
    assert found[0].startswith("hcpcs.csv:4: column 'code': 'J945' is not a HCPCS Level II")
    mue = found[1:]
    assert mue[:2] == [
        "mue.csv:3: column 'mue': -1 is below 0",
        "mue.csv:4: column 'mue': -2 is below 0",
    ]
    assert len(mue) == MAX_ERRORS_PER_FILE + 1
    assert mue[-1] == "mue.csv: 5 more error(s) not shown"


def test_one_row_with_several_bad_columns_gives_one_error_per_column(site: Path) -> None:
    append(site, "mue.csv", "J99,-1,9,Clinical,fda,verified,CMS MUE table")
    assert errors(site) == [
        "mue.csv:3: column 'code': 'J99' is not a HCPCS code (a letter and 4 digits, e.g. "
        "J9262, or a CPT code, e.g. 96401)",
        "mue.csv:3: column 'mue': -1 is below 0",
        "mue.csv:3: column 'mai': 9 is above 3",
        "mue.csv:3: column 'basis': 'fda' is not one of 'label_derived' or 'cms'",
    ]


def test_a_quoted_field_over_two_lines_keeps_the_line_numbers_right(site: Path) -> None:
    append(
        site,
        "mue.csv",
        'J9299,480,3,"two-line\nrationale",cms,verified,CMS MUE table',
        "J9301,-1,3,Clinical,cms,verified,CMS MUE table",
    )
    assert errors(site) == ["mue.csv:5: column 'mue': -1 is below 0"]


def test_an_import_skips_rows_the_schema_refuses(tmp_path: Path) -> None:
    table = tmp_path / "mue-table.csv"
    table.write_text(
        "HCPCS/CPT Code,Practitioner Services MUE Values,MUE Adjudication Indicator,MUE Rationale\n"
        "J9262,600,3 Date of Service Edit: Clinical,Prescribing Information\n"
        "J9299,-5,3 Date of Service Edit: Clinical,Prescribing Information\n"
    )
    result = import_mue(table, tmp_path / "ref")
    assert result.rows == 1
    assert result.skipped == ["row 3: mue -5.0 is below 0"]
    assert refdata.load(tmp_path / "ref").mue["J9262"].units == 600


def test_an_import_into_a_folder_with_an_unstamped_edit_is_refused(site: Path) -> None:
    edit(site, "mue.csv", "J9262,700,", "J9262,7000,", stamp=False)
    table = site.parent / "mue-table.csv"
    table.write_text(
        "HCPCS/CPT Code,MUE Values,MAI,MUE Rationale\nJ9299,480,3,Prescribing Information\n"
    )
    with pytest.raises(refdata.RefdataError, match=r"mue\.csv changed since it was stamped"):
        import_mue(table, site)
