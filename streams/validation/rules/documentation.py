"""Documentation edits for J9262: what the record must show; each gap is a warning."""

from __future__ import annotations

from collections.abc import Iterator

from streams.contract.models import Documentation, Finding
from streams.validation.rules.catalog import finding
from streams.validation.rules.engine import LineContext, rule

MIN_TKIS = 2


def tki_history_met(doc: Documentation, minimum: int) -> bool:
    return len(doc.prior_tkis) >= minimum and doc.tki_resistance_or_intolerance is True


@rule
def documentation_attested(ctx: LineContext) -> Iterator[Finding]:
    if not ctx.facts.omacetaxine:
        return
    doc = ctx.event.documentation or Documentation()
    if ctx.facts.waste:
        if doc.waste_record is not True:
            yield finding(
                "DOC_WASTE_RECORD",
                "JW (discarded drug) is billed but no waste record is attested",
                field="documentation.waste_record",
                suggestion="Record the amount discarded, the time and the reason",
            )
        return
    if doc.bcr_abl_confirmed is not True:
        yield finding(
            "DOC_BCR_ABL",
            "BCR-ABL confirmation is not attested",
            field="documentation.bcr_abl_confirmed",
        )
    if ctx.facts.policy.step_therapy_min_tkis == 0 and not tki_history_met(doc, MIN_TKIS):
        yield finding(
            "DOC_TKI_HISTORY",
            f"{len(doc.prior_tkis)} prior TKI(s) documented"
            + (
                ""
                if doc.tki_resistance_or_intolerance
                else ", resistance or intolerance not attested"
            )
            + f"; the label indication needs {MIN_TKIS} or more failed or not tolerated",
            field="documentation.prior_tkis",
        )
    for attr, code, what in (
        ("dose_calculation", "DOC_DOSE_CALCULATION", "the BSA-based dose calculation"),
        ("administration_record", "DOC_ADMINISTRATION_RECORD", "the administration record"),
    ):
        if getattr(doc, attr) is not True:
            yield finding(code, f"{what} is not attested", field=f"documentation.{attr}")
    if not doc.lot_number:
        yield finding(
            "DOC_LOT_NUMBER", "no lot number is recorded", field="documentation.lot_number"
        )
