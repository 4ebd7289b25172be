"""Bundled reference data loads, and a directory overrides it file by file."""

from __future__ import annotations

import re
import shutil
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


def test_override_directory_replaces_single_files(tmp_path: Path) -> None:
    shutil.copy(refdata.BUNDLED / "manifest.yaml", tmp_path / "manifest.yaml")
    text = (tmp_path / "manifest.yaml").read_text().replace("2026Q4-bundled", "2027Q1-site")
    (tmp_path / "manifest.yaml").write_text(text)
    ref = refdata.load(tmp_path)
    assert ref.version == "2027Q1-site"
    assert "J9262" in ref.hcpcs


def test_a_site_policy_file_without_timely_filing_limits_still_loads(tmp_path: Path) -> None:
    """Policy files written before the limit existed leave it out: not checked."""
    text = (refdata.BUNDLED / "payer_policies.yaml").read_text()
    kept = [ln for ln in text.splitlines() if not ln.strip().startswith("timely_filing_days")]
    (tmp_path / "payer_policies.yaml").write_text("\n".join(kept) + "\n")
    policies = refdata.load(tmp_path).policies
    assert policies.for_payer("MCR-JE", "medicare").timely_filing_days == 0
    bundled = refdata.load().policies
    assert bundled.for_payer("MCR-JE", "medicare").timely_filing_days == 365
    assert bundled.for_payer("ANY", "commercial").timely_filing_days == 90


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("timely_filing_days: 90", "timely_filing_days: ninety"),
            "timely_filing_days is 'ninety'",
        ),
        (("timely_filing_days: 90", "timely_filing_days: -1"), "a whole number, 0 or more"),
        (("drug_excluded: false", "drug_excluded: maybe"), "drug_excluded is 'maybe'"),
        (("ndc_missing_severity: error", "ndc_missing_severity: fatal"), "error, warning or info"),
        (("drug_excluded: true", "drug_exclude: true"), "payer EXAMPLE-EXCLUDES: "),
    ],
)
def test_a_bad_policy_file_is_refused_when_loaded(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    text = (refdata.BUNDLED / "payer_policies.yaml").read_text()
    assert change[0] in text
    (tmp_path / "payer_policies.yaml").write_text(text.replace(change[0], change[1], 1))
    with pytest.raises(ValueError, match=re.escape(message)):
        refdata.load(tmp_path)


def test_a_policy_file_without_plan_types_is_refused(tmp_path: Path) -> None:
    (tmp_path / "payer_policies.yaml").write_text("plan_types: {}\npayers: {}\n")
    with pytest.raises(ValueError, match="plan type other"):
        refdata.load(tmp_path)
