"""Site-of-care edits: the params they read are the catalog's."""

from __future__ import annotations

from streams.validation.rules import site
from streams.validation.rules.catalog import CATALOG


def test_the_params_read_at_import_are_the_catalog_s() -> None:
    """Read from edits.yaml once rather than a line: the same values."""
    assert CATALOG["SITE_HOME_PART_B"].param("home") == site._HOME
    assert (
        CATALOG["SITE_PROFESSIONAL_IN_HOSPITAL_OUTPATIENT"].param("hospital_outpatient")
        == site._HOSPITAL_OUTPATIENT
    )
    assert CATALOG["SITE_REVENUE_CODE"].param("drug_revenue_codes") == site._DRUG_REVENUE_CODES
    outpatient = CATALOG["SITE_TYPE_OF_BILL"].param("outpatient_prefixes")
    assert tuple(outpatient) == site._OUTPATIENT_PREFIXES
    full = CATALOG["DRUG_SOURCE_FULL_CHARGE"]
    assert float(full.param("nominal_charge_max")) == site._NOMINAL_CHARGE_MAX
    assert full.param("not_bought") == site._NOT_BOUGHT
