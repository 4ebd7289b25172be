"""Nothing domain-specific is a literal in code: drug codes, administration codes, modifiers
and NDCs live in reference data (streams/refdata/data) and the edit catalog (edits.yaml).

The test reads every module of streams/ (not the data, the catalog or the demo samples) and
lists each such string literal. `ALLOWED` names the ones that remain, per module, each with
why; it may only shrink: a literal that is gone must leave the list too.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

STREAMS = Path(__file__).resolve().parents[2] / "streams"
SKIP = ("refdata/data/", "samples/")
DOMAIN = re.compile(
    r"^(?:"
    r"[A-Z]\d{4}"  # HCPCS Level II (J9262, C9297)
    r"|9\d{4}"  # CPT administration codes (96401, 96413)
    r"|J[WZG]|TB|G[AZY]|KX|X[EPSU]"  # drug-line modifiers
    r"|\d{5}-\d{4}-\d{2}|\d{11}|\d{4,5}-\d{3,4}"  # NDCs, whole or product
    r")$"
)

# Literals still in code, per module, to move into reference data and the catalog.
ALLOWED: dict[str, set[str]] = {
    # The stored line models (patient history, claim roll-up) mark a waste line by JW;
    # they are persisted in tables and have no reference data at hand.
    "validation/history.py": {"JW"},
    "validation/rollup.py": {"JW"},
    # The look-alike search is built around J9262 (its typos, its vial).
    "validation/similarity.py": {"J9262"},
}


def domain_literals() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted(STREAMS.rglob("*.py")):
        rel = path.relative_to(STREAMS).as_posix()
        if rel.startswith(SKIP):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            value = node.value if isinstance(node, ast.Constant) else None
            if isinstance(value, str) and DOMAIN.match(value):
                found.setdefault(rel, set()).add(value)
    return found


def test_no_drug_codes_modifiers_or_ndcs_as_literals_in_code() -> None:
    found = domain_literals()
    new = {m: sorted(v - ALLOWED.get(m, set())) for m, v in found.items()}
    assert {m: v for m, v in new.items() if v} == {}, "move these into reference data"


def test_the_allow_list_only_shrinks() -> None:
    found = domain_literals()
    stale = {m: sorted(v - found.get(m, set())) for m, v in ALLOWED.items()}
    assert {m: v for m, v in stale.items() if v} == {}, "remove these from ALLOWED"


def test_the_scan_sees_a_literal() -> None:
    assert DOMAIN.match("J9262") and DOMAIN.match("JZ") and DOMAIN.match("63459-0177-14")
    assert not DOMAIN.match("error") and not DOMAIN.match("2026")
