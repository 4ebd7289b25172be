"""Bundled reference data loads, and a directory overrides it file by file."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams import refdata


def test_bundled_data_has_the_brief_codes_and_ndcs() -> None:
    ref = refdata.load()
    assert ref.version == "2026Q4-bundled"
    assert ref.hcpcs["J9262"].billing_unit_mg == 0.01
    assert ref.hcpcs["C9297"].replaced_by == "J9262"
    assert ref.hcpcs["J9045"].multi_dose
    synribo = ref.ndcs["63459017714"]
    assert (synribo.hcpcs, synribo.billing_units_per_package, synribo.status) == (
        "J9262",
        350,
        "unconfirmed",
    )
    assert {"J9262", "J9045", "J9299", "J9301", "C9297"} <= ref.tracked_codes
    assert "J9226" not in ref.tracked_codes


def test_product_lookup_falls_back_to_labeler_and_product() -> None:
    ref = refdata.load()
    row = ref.ndc("63459017799")
    assert row is not None
    assert row.hcpcs == "J9262"
    assert ref.ndc("99999999999") is None


def test_the_bundled_data_passes_its_schema_and_manifest() -> None:
    """Also fails when a bundled file is edited without `j9262 refdata stamp`."""
    ref = refdata.load()
    assert set(ref.sources) == set(refdata.FILES)


def test_override_directory_replaces_single_files(tmp_path: Path) -> None:
    mue = (refdata.BUNDLED / "mue.csv").read_text().replace("J9262,700,", "J9262,600,")
    (tmp_path / "mue.csv").write_text(mue)
    assert refdata.stamp(tmp_path, "2027Q1-site") == "2027Q1-site"
    ref = refdata.load(tmp_path)
    assert ref.version == "2027Q1-site"
    assert ref.mue["J9262"].units == 600
    assert "J9262" in ref.hcpcs  # hcpcs.csv: bundled
    assert ref.sources["mue.csv"].startswith("local file, ")
    assert ref.sources["hcpcs.csv"].startswith("CMS HCPCS Level II")


def test_a_site_policy_file_without_timely_filing_limits_still_loads(tmp_path: Path) -> None:
    """Policy files written before the limit existed leave it out: not checked."""
    text = (refdata.BUNDLED / "payer_policies.yaml").read_text()
    plans, payers = text.split("\npayers:", 1)
    kept = [ln for ln in plans.splitlines() if not ln.strip().startswith("timely_filing_")]
    (tmp_path / "payer_policies.yaml").write_text("\n".join(kept) + "\npayers:" + payers)
    refdata.stamp(tmp_path)
    policies = refdata.load(tmp_path).policies
    medicare = policies.for_payer("MCR-JE", "medicare")
    assert (medicare.timely_filing_days, medicare.timely_filing_months) == (0, 0)
    bundled = refdata.load().policies
    assert bundled.for_payer("MCR-JE", "medicare").timely_filing_months == 12
    assert bundled.for_payer("ANY", "commercial").timely_filing_days == 90
    own = bundled.for_payer("EXAMPLE-180-DAYS", "medicare")
    assert (own.timely_filing_days, own.timely_filing_months) == (180, 0)


def test_an_older_policy_file_grading_ndc_missing_still_loads(tmp_path: Path) -> None:
    """`ndc_missing_severity` (before per-edit severities) becomes a severity override."""
    text = (refdata.BUNDLED / "payer_policies.yaml").read_text()
    old = text.replace(
        "    ndc_required: true\n", "    ndc_required: true\n    ndc_missing_severity: error\n"
    )
    (tmp_path / "payer_policies.yaml").write_text(old)
    refdata.stamp(tmp_path)
    policy = refdata.load(tmp_path).policies.for_payer("MCR-JE", "medicare")
    assert policy.severities == {"NDC_MISSING": "error"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("timely_filing_days: 90", "timely_filing_days: ninety"),
            "key 'plan_types.commercial.timely_filing_days': 'ninety' is not a whole number",
        ),
        (
            ("timely_filing_days: 90", "timely_filing_days: -1"),
            "key 'plan_types.commercial.timely_filing_days': -1 is below 0",
        ),
        (
            ("drug_excluded: false", "drug_excluded: maybe"),
            "key 'plan_types.medicare.drug_excluded': 'maybe' is not true or false",
        ),
        (
            ("NDC_MISSING: info", "NDC_MISSING: fatal"),
            "key 'payers.EXAMPLE-NDC-OPTIONAL.severities.NDC_MISSING': 'fatal' is not one of "
            "'error', 'warning' or 'info'",
        ),
        (
            ("drug_excluded: true", "drug_exclude: true"),
            "key 'payers.EXAMPLE-EXCLUDES.drug_exclude': is not a known key",
        ),
        (
            ("  commercial:", "  comercial:"),
            "key 'plan_types.comercial': 'comercial' is not one of 'medicare', "
            "'medicare_advantage', 'medicaid', 'commercial' or 'other'",
        ),
    ],
)
def test_a_bad_policy_file_is_refused_naming_the_line_and_key(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    text = (refdata.BUNDLED / "payer_policies.yaml").read_text()
    assert change[0] in text
    line = text[: text.index(change[0])].count("\n") + 1
    (tmp_path / "payer_policies.yaml").write_text(text.replace(change[0], change[1], 1))
    refdata.stamp(tmp_path)
    with pytest.raises(refdata.RefdataError) as caught:
        refdata.load(tmp_path)
    assert caught.value.errors == [f"{tmp_path / 'payer_policies.yaml'}:{line}: {message}"]


def test_a_policy_file_without_plan_types_is_refused(tmp_path: Path) -> None:
    (tmp_path / "payer_policies.yaml").write_text("plan_types: {}\npayers: {}\n")
    refdata.stamp(tmp_path)
    with pytest.raises(refdata.RefdataError, match="plan type 'other' is missing"):
        refdata.load(tmp_path)


def test_every_reference_row_carries_its_source_and_status() -> None:
    """Each file's schema requires both, so a row without them is refused on load."""
    from streams.refdata import schema

    names = (
        "AdministrationRow",
        "DrugSpec",
        "HcpcsRow",
        "Icd10Row",
        "ModifierRow",
        "MueRow",
        "TkiRow",
    )

    for model in (getattr(schema, n) for n in (*names, "NdcRow")):
        for name in ("source", "status"):
            assert model.model_fields[name].is_required(), (model.__name__, name)
    assert refdata.load().hcpcs["J9262"].code == "J9262"


def test_a_row_without_a_status_is_refused_naming_the_line(tmp_path: Path) -> None:
    text = (refdata.BUNDLED / "icd10.csv").read_text().splitlines()
    text[2] = text[2].replace(",verified,", ",,")
    (tmp_path / "icd10.csv").write_text("\n".join(text) + "\n")
    refdata.stamp(tmp_path)
    with pytest.raises(refdata.RefdataError) as err:
        refdata.load(tmp_path)
    assert "icd10.csv:3: column 'status'" in str(err.value)
