"""NDC normalization to the 11-digit 5-4-2 form billed in loop 2410 (LIN03)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_HYPHENATED = re.compile(r"^(\d{4,5})-(\d{3,4})-(\d{1,2})$")


@dataclass(frozen=True, slots=True)
class NormalizedNdc:
    ndc11: str | None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.ndc11 is not None


@lru_cache(maxsize=8192)
def normalize_ndc(raw: str) -> NormalizedNdc:
    """Pad a hyphenated 10-digit NDC (4-4-2, 5-3-2, 5-4-1) to 5-4-2.

    An unhyphenated 10-digit value cannot be converted: which segment lacks
    its leading zero is unknowable without the hyphens. Cached: a hospital
    bills the same few NDCs on line after line.
    """
    code = raw.strip().replace(" ", "")
    if re.fullmatch(r"\d{11}", code):
        return NormalizedNdc(code)
    if re.fullmatch(r"\d{10}", code):
        return NormalizedNdc(
            None,
            f"NDC '{code}' has 10 digits and no hyphens, so the segment needing "
            "a leading zero is ambiguous",
        )
    if re.fullmatch(r"\d{9}|\d{4,5}-\d{3,4}", code):
        return NormalizedNdc(
            None,
            f"NDC '{code}' is a product code (labeler and product) without its package segment",
        )
    match = _HYPHENATED.match(code)
    if match:
        labeler, product, package = match.groups()
        if len(labeler) + len(product) + len(package) in (10, 11):
            return NormalizedNdc(labeler.zfill(5) + product.zfill(4) + package.zfill(2))
    return NormalizedNdc(
        None,
        f"NDC '{code}' is not 11 digits or a hyphenated 4-4-2, 5-3-2, 5-4-1 or 5-4-2 code",
    )


def format_ndc11(ndc11: str) -> str:
    return f"{ndc11[:5]}-{ndc11[5:9]}-{ndc11[9:]}"
