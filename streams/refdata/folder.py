"""A reference data folder: where each file is read from, and the manifest that vouches for it.

The bundled files can be overridden file by file by a folder (`J9262_REFDATA_DIR`). Every
folder, the bundled one included, has a `manifest.yaml` giving the version stamped on verdicts
and, for each file it holds, the file's source and sha256. A file that changed since it was
stamped, a listed file that is absent, or a file the manifest does not list is an error: the
data a worker runs on is always the data someone reviewed and stamped.
"""

from __future__ import annotations

import hashlib
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml

from streams.refdata.schema import (
    Entry,
    FileEntry,
    Manifest,
    RefdataError,
    Report,
    Row,
    read_csv,
    read_document,
    read_entries,
)

BUNDLED = Path(str(resources.files("streams.refdata").joinpath("data")))
MANIFEST = "manifest.yaml"
FILES = (
    "hcpcs.csv",
    "ndc.csv",
    "icd10.csv",
    "modifiers.csv",
    "mue.csv",
    "drugs.yaml",
    "payer_policies.yaml",
    "administration.csv",
    "tkis.csv",
)
STAMP_HINT = "j9262 refdata stamp"

R = TypeVar("R", bound=Row)
M = TypeVar("M", bound=Entry)


def resolve_file(name: str, override: Path | None) -> Path:
    """The override folder's copy of a file when it has one, else the bundled file."""
    if override is not None and (override / name).is_file():
        return override / name
    return BUNDLED / name


def sha256(path: Path) -> str:
    """The sha256 of the file's text with LF line endings and one final newline: for a usual
    Unix text file, what `sha256sum` prints. Normalised because a ConfigMap (the chart mounts
    `refdata.files` with `|-`) drops the final newline and an editor may write CRLF, neither
    of which changes a row."""
    text = path.read_bytes().replace(b"\r\n", b"\n").rstrip(b"\n") + b"\n"
    return hashlib.sha256(text).hexdigest()


class Folder:
    """The bundled files overridden by `override`, with every error found on the way."""

    def __init__(self, override: Path | None) -> None:
        if override is not None and not override.is_dir():
            state = "is not a folder" if override.exists() else "does not exist"
            raise RefdataError([f"{override}: reference data folder {state}"])
        self.override = override
        self._reports: dict[Path, Report] = {}
        bundled = self._manifest(BUNDLED)
        local = self._manifest(override) if override is not None else bundled
        self.version = local.version if local is not None else ""
        self.sources = {
            name: entry.source
            for manifest in (bundled, local)
            if manifest is not None
            for name, entry in manifest.files.items()
        }

    def path(self, name: str) -> Path:
        return resolve_file(name, self.override)

    def report(self, path: Path) -> Report:
        return self._reports.setdefault(path, Report(path))

    def rows(self, name: str, model: type[R]) -> list[tuple[int, R]]:
        path = self.path(name)
        return read_csv(path, model, self.report(path))

    def entries(self, name: str, model: type[M]) -> dict[str, M]:
        path = self.path(name)
        return read_entries(path, model, self.report(path))

    def document(self, name: str, model: type[M]) -> M | None:
        path = self.path(name)
        return read_document(path, model, self.report(path))[0]

    def raise_errors(self) -> None:
        errors = [line for report in self._reports.values() for line in report.lines()]
        if errors:
            raise RefdataError(errors)

    def _manifest(self, folder: Path) -> Manifest | None:
        """The folder's manifest, checked against the files the folder holds."""
        path = folder / MANIFEST
        report = self.report(path)
        manifest: Manifest | None = None
        lines: dict[tuple[str, ...], int] = {}
        if not path.is_file():
            report.add(
                None,
                "is missing: a reference data folder needs one listing each of its files with "
                f"its sha256 (`{STAMP_HINT} {folder}` writes it)",
            )
        else:
            manifest, lines = read_document(path, Manifest, report)
        listed = manifest.files if manifest is not None else {}
        for name, entry in listed.items():
            self._check_listed(folder, name, entry, lines, report)
        for item in sorted(folder.iterdir()):
            if item.name.startswith(".") or item.name == MANIFEST:
                continue  # hidden: a ConfigMap volume's ..data links, .gitkeep
            if item.name not in FILES:
                self.report(item).add(
                    None, f"is not a reference file; the files are {', '.join(FILES)}"
                )
            elif manifest is not None and item.name not in listed:
                self.report(item).add(
                    None, f"is not listed in {MANIFEST} (`{STAMP_HINT} {folder}` adds it)"
                )
        return manifest

    def _check_listed(
        self,
        folder: Path,
        name: str,
        entry: FileEntry,
        lines: dict[tuple[str, ...], int],
        report: Report,
    ) -> None:
        line = lines.get(("files", name))
        if name not in FILES:
            report.add(line, f"key 'files.{name}': not a reference file")
        elif not (folder / name).is_file():
            report.add(line, f"key 'files.{name}': {name} is listed but not in the folder")
        elif (actual := sha256(folder / name)) != entry.sha256:
            report.add(
                lines.get(("files", name, "sha256"), line),
                f"key 'files.{name}.sha256': {name} changed since it was stamped (its sha256 "
                f"is {actual}); review the change, then run `{STAMP_HINT} {folder}`",
            )


def stamp(
    folder: Path,
    version: str | None = None,
    sources: dict[str, str] | None = None,
    tag: str | None = None,
) -> str:
    """Writes the folder's manifest: every reference file it holds with its sha256.

    Keeps the description, each file's source and the leading comment of an existing manifest
    (also one written before checksums existed, which maps names to sources). The version is
    `version` if given; else the existing one (the bundled one for a new manifest) with `tag`
    added, or with `local-<digest>` when a file is new or changed since the last stamp, so the
    version on verdicts always tells the data apart. Returns the version.
    """
    path = folder / MANIFEST
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    parsed = yaml.safe_load(text) if text else None
    old: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
    old_files: dict[str, Any] = old["files"] if isinstance(old.get("files"), dict) else {}
    files: dict[str, dict[str, str]] = {}
    changed = False
    for name in FILES:
        if (folder / name).is_file():
            prior: Any = old_files.get(name)
            prior_source = prior.get("source") if isinstance(prior, dict) else prior
            source = (sources or {}).get(name) or prior_source or f"local file, {date.today()}"
            files[name] = {"source": str(source), "sha256": sha256(folder / name)}
            prior_sha = prior.get("sha256") if isinstance(prior, dict) else files[name]["sha256"]
            changed = changed or prior is None or prior_sha != files[name]["sha256"]
    if version is None:
        bundled = yaml.safe_load((BUNDLED / MANIFEST).read_text(encoding="utf-8"))
        version = str(old.get("version") or bundled["version"])
        if tag is None and changed:
            digest = hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest()
            tag = f"local-{digest[:8]}"
        version = with_tag(version, tag) if tag else version
    manifest: dict[str, Any] = {"version": version}
    if old.get("description"):
        manifest["description"] = old["description"]
    manifest["files"] = files
    comment = "".join(f"{ln}\n" for ln in _leading_comment(text))
    body = yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True, width=4096)
    path.write_text(comment + body, encoding="utf-8")
    return version


def with_tag(version: str, tag: str) -> str:
    """`2026Q4-bundled+crosswalk-2026.1a2b3c4d` + `mue-...`: one tag per kind, the newest."""
    kind = tag.split("-", 1)[0]
    parts = [p for p in version.split("+") if not p.startswith(kind + "-")]
    return "+".join([*parts, tag])


def _leading_comment(text: str) -> list[str]:
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line)
    return lines
