"""Importers for the official CMS files, writing an override directory.

The ASP NDC-HCPCS crosswalk and the MUE table are published quarterly; importing
them into a directory (pointed at by `J9262_REFDATA_DIR`) replaces the bundled
rows for every code the file covers and gives the data a new version.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from streams.refdata import ReferenceData, load, resolve_file, stamp
from streams.refdata.ndc import normalize_ndc
from streams.refdata.schema import CROSSWALK_SOURCE, MueRow, NdcRow, Row, describe

NDC_COLUMNS = [
    "ndc11",
    "drug",
    "labeler",
    "hcpcs",
    "package_description",
    "package_mg",
    "package_ml",
    "billing_units_per_package",
    "single_dose",
    "status",
    "source",
]
MUE_COLUMNS = ["code", "mue", "mai", "rationale", "basis", "status", "source"]
CROSSWALK_HEADER = re.compile(r"^_?(\d{4})_CODE$", re.IGNORECASE)


class RefdataImportError(ValueError):
    """The file is not in the expected CMS layout; the message says what is wrong."""


@dataclass(frozen=True)
class ImportResult:
    rows: int
    codes: int
    skipped: list[str]
    version: str
    path: Path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:8]


def _rows_after_header(path: Path, is_header: Any) -> tuple[list[str], Iterator[list[str]]]:
    """Skips the title lines CMS puts above the header row."""
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as fh:
        rows = list(csv.reader(fh))
    for i, row in enumerate(rows):
        if row and is_header(row):
            return [c.strip() for c in row], iter(rows[i + 1 :])
    raise RefdataImportError(f"{path.name}: no header row found")


def _column(header: list[str], *names: str) -> int:
    wanted = {n.lower() for n in names}
    for i, name in enumerate(header):
        if name.lower() in wanted:
            return i
    raise RefdataImportError(f"missing column {names[0]!r}; the header has {header}")


def _number(text: str) -> float | None:
    text = text.strip().replace(",", "")
    try:
        return float(text) if text else None
    except ValueError:
        return None


def _current(into: Path) -> ReferenceData:
    """The data the import starts from: the bundled data for a new or empty folder, else the
    folder's, which must pass its checks (RefdataError) so that the import's stamp does not
    bless a file nobody stamped."""
    return load(into) if any(not p.name.startswith(".") for p in into.iterdir()) else load()


def _update_manifest(into: Path, filename: str, source: str, tag: str, version: str | None) -> str:
    """Stamps the folder: the new version, the file's source, every file's sha256."""
    return stamp(into, version, {filename: source}, tag)


def _problem(model: type[Row], row: dict[str, Any]) -> str | None:
    """Why an imported row breaks the file's schema, or None: a row the loader would refuse
    is skipped with the reason instead of written."""
    try:
        model.model_validate({k: "" if v is None else str(v) for k, v in row.items()})
    except ValidationError as exc:
        return "; ".join(f"{e['loc'][0]} {describe(e)}" for e in exc.errors())
    return None


def _write_csv(path: Path, columns: list[str], rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def _existing_rows(name: str, into: Path) -> list[dict[str, str]]:
    with resolve_file(name, into).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def import_crosswalk(path: Path, into: Path, version: str | None = None) -> ImportResult:
    """Load a CMS ASP NDC-HCPCS crosswalk CSV (header row `_YYYY_CODE,...`)."""
    into.mkdir(parents=True, exist_ok=True)
    header, rows = _rows_after_header(path, lambda r: bool(CROSSWALK_HEADER.match(r[0].strip())))
    year = CROSSWALK_HEADER.match(header[0])
    col = {
        "code": 0,
        "labeler": _column(header, "LABELER NAME", "Labeler Name"),
        "ndc": _column(header, "NDC2"),
        "drug": _column(header, "Drug Name"),
        "dosage": _column(header, "HCPCS dosage", "HCPCS Dosage"),
        "size": _column(header, "PKG SIZE"),
        "qty": _column(header, "PKG QTY"),
        "units_pkg": _column(header, "BILLUNITSPKG"),
    }
    ref = _current(into)
    previous = {r["ndc11"]: r for r in _existing_rows("ndc.csv", into)}
    imported: dict[str, dict[str, Any]] = {}
    skipped: list[str] = []
    source = f"{CROSSWALK_SOURCE} {path.name}"
    for number, row in enumerate(rows, start=2):
        if len(row) <= max(col.values()) or not row[col["code"]].strip():
            continue
        code = row[col["code"]].strip().upper()
        ndc = normalize_ndc(row[col["ndc"]])
        units_pkg = _number(row[col["units_pkg"]])
        if not ndc.ndc11 or units_pkg is None:
            skipped.append(f"row {number}: NDC {row[col['ndc']]!r} or BILLUNITSPKG unusable")
            continue
        hcpcs = ref.hcpcs.get(code)
        unit_mg = hcpcs.billing_unit_mg if hcpcs else _dosage_mg(row[col["dosage"]])
        before = previous.get(ndc.ndc11, {})
        candidate = {
            "ndc11": ndc.ndc11,
            "drug": hcpcs.drug if hcpcs else row[col["drug"]].strip().lower(),
            "labeler": row[col["labeler"]].strip(),
            "hcpcs": code,
            "package_description": before.get("package_description")
            or f"{row[col['drug']].strip()}, package {row[col['size']].strip()} x "
            f"{row[col['qty']].strip()}",
            "package_mg": units_pkg * unit_mg if unit_mg else "",
            "package_ml": before.get("package_ml", ""),
            "billing_units_per_package": units_pkg,
            "single_dose": "true" if hcpcs and hcpcs.container == "single_dose" else "false",
            "status": "verified",
            "source": source,
        }
        if problem := _problem(NdcRow, candidate):
            skipped.append(f"row {number}: {problem}")
            continue
        imported[ndc.ndc11] = candidate
    if not imported:
        raise RefdataImportError(f"{path.name}: no usable rows")
    covered = {r["hcpcs"] for r in imported.values()}
    kept = [r for r in previous.values() if r["hcpcs"] not in covered]
    _write_csv(into / "ndc.csv", NDC_COLUMNS, [*imported.values(), *kept])
    tag = f"crosswalk-{year.group(1) if year else 'x'}.{_digest(path)}"
    new_version = _update_manifest(into, "ndc.csv", source, tag, version)
    return ImportResult(len(imported), len(covered), skipped, new_version, into / "ndc.csv")


def _dosage_mg(text: str) -> float | None:
    """'0.01 MG' -> 0.01; other units (per vial, IU) give None."""
    match = re.match(r"^\s*([\d.]+)\s*MG\b", text, re.IGNORECASE)
    return float(match.group(1)) if match else None


def import_mue(path: Path, into: Path, version: str | None = None) -> ImportResult:
    """Load a CMS MUE table CSV: code, MUE value, MAI, rationale (title lines skipped)."""
    into.mkdir(parents=True, exist_ok=True)
    _header, rows = _rows_after_header(
        path, lambda r: len(r) >= 4 and ("hcpcs" in r[0].lower() or "cpt" in r[0].lower())
    )
    _current(into)  # refuses a folder that fails its checks before adding to it
    source = f"CMS MUE table {path.name}"
    imported: dict[str, dict[str, Any]] = {}
    skipped: list[str] = []
    for number, row in enumerate(rows, start=2):
        if len(row) < 4 or not row[0].strip():
            continue
        value = _number(row[1])
        mai = re.match(r"\s*(\d)", row[2])
        if value is None:
            skipped.append(f"row {number}: MUE value {row[1]!r} is not a number")
            continue
        code = row[0].strip().upper()
        candidate = {
            "code": code,
            "mue": value,
            "mai": mai.group(1) if mai else "",
            "rationale": row[3].strip(),
            "basis": "cms",
            "status": "verified",
            "source": source,
        }
        if problem := _problem(MueRow, candidate):
            skipped.append(f"row {number}: {problem}")
            continue
        imported[code] = candidate
    if not imported:
        raise RefdataImportError(f"{path.name}: no usable rows")
    kept = [r for r in _existing_rows("mue.csv", into) if r["code"] not in imported]
    _write_csv(into / "mue.csv", MUE_COLUMNS, [*imported.values(), *kept])
    new_version = _update_manifest(into, "mue.csv", source, f"mue-{_digest(path)}", version)
    return ImportResult(len(imported), len(imported), skipped, new_version, into / "mue.csv")
