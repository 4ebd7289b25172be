"""Documentation edits for J9262: what the record must show; each gap is a warning."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from streams.contract.models import Documentation, Finding
from streams.validation.rules.catalog import CATALOG, finding
from streams.validation.rules.engine import LineContext, rule

_FIRST_WORD = re.compile(r"[a-z]+")

_LABEL_MIN_TKIS = int(CATALOG["DOC_TKI_HISTORY"].param("label_min_tkis"))
"""The catalog's param read once, not on every J9262 line."""

NOT_DOCUMENTED = Documentation()
"""A line without documentation attests nothing: one shared frozen model rather than
one built a line."""


@dataclass(frozen=True, slots=True)
class TkiHistory:
    """The prior TKIs a record lists, counted as drugs (tkis.csv): a brand and its generic
    name are one TKI, a drug that is not a TKI counts for none."""

    distinct: tuple[str, ...]
    repeated: tuple[str, ...]
    """"Gleevec and imatinib are one TKI (imatinib)": names of a drug already counted."""
    not_tkis: tuple[str, ...]
    attested: bool
    """Resistance or intolerance attested: listing the drugs alone does not show failure."""

    def met(self, minimum: int) -> bool:
        return len(self.distinct) >= minimum and self.attested

    def field(self) -> str:
        enough = self.attested or not self.distinct
        return (
            "documentation.prior_tkis" if enough else "documentation.tki_resistance_or_intolerance"
        )

    def describe(self) -> str:
        named = f" ({', '.join(self.distinct)})" if self.distinct else ""
        parts = [f"{len(self.distinct)} distinct TKI(s) documented{named}"]
        parts += list(self.repeated)
        parts += [f"{name} is not a TKI" for name in self.not_tkis]
        if not self.attested:
            parts.append("resistance or intolerance not attested")
        return "; ".join(parts)


def tki_history(doc: Documentation, tkis: Mapping[str, str]) -> TkiHistory:
    """Each listed name matched whole, or by its first word ("imatinib mesylate")."""
    named: dict[str, str] = {}  # generic -> the name it was first listed by
    repeated: list[str] = []
    not_tkis: list[str] = []
    for name in doc.prior_tkis:
        key = name.strip().lower()
        first = _FIRST_WORD.match(key)
        generic = tkis.get(key) or (tkis.get(first.group()) if first else None)
        if generic is None:
            not_tkis.append(name)
        elif generic in named:
            repeated.append(f"{named[generic]} and {name} are one TKI ({generic})")
        else:
            named[generic] = name
    attested = doc.tki_resistance_or_intolerance is True
    return TkiHistory(tuple(named), tuple(repeated), tuple(not_tkis), attested)


@rule
def documentation_attested(ctx: LineContext) -> Iterator[Finding]:
    if not ctx.facts.omacetaxine:
        return
    doc = ctx.event.documentation or NOT_DOCUMENTED
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
    if ctx.facts.policy.step_therapy_min_tkis == 0:  # else PAYER_STEP_THERAPY asks
        label_min = _LABEL_MIN_TKIS
        history = tki_history(doc, ctx.refdata.tkis)
        if not history.met(label_min):
            yield finding(
                "DOC_TKI_HISTORY",
                f"{history.describe()}; the label indication needs {label_min} or more "
                "failed or not tolerated",
                field=history.field(),
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
