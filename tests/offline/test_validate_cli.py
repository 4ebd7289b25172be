"""`j9262 validate` as a user runs it: its files are safe, its misuses are one line,
its CSV and HTML report say what the verdicts say. Through the installed command
(subprocess), so the entry point's error handling is what is tested."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import select
import shutil
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from streams.offline.runner import CSV_COLUMNS, atomic_outputs
from streams.samples import SAMPLE_PATH, encode, event

J9262 = str(Path(sys.executable).with_name("j9262"))


def j9262(*args: str, cwd: Path | None = None, **kw: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("J9262_")}
    return subprocess.run(
        [J9262, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
        **kw,  # type: ignore[call-overload]
    )


def assert_one_line_error(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode != 0, done
    assert "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert done.stderr.startswith("Error: "), done.stderr


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    return Path(shutil.copy(SAMPLE_PATH, tmp_path / "in.jsonl"))


def fingerprint(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


@pytest.mark.parametrize("spelling", ["same", "dotted", "symlink", "hardlink", "report"])
def test_an_output_that_is_the_input_is_refused_and_the_input_left_as_it_was(
    sample: Path, spelling: str
) -> None:
    target = {
        "same": sample,
        "dotted": sample.parent / "." / ".." / sample.parent.name / sample.name,
        "symlink": sample.parent / "link.jsonl",
        "hardlink": sample.parent / "hard.jsonl",
        "report": sample,
    }[spelling]
    if spelling == "symlink":
        target.symlink_to(sample.name)
    if spelling == "hardlink":
        os.link(sample, target)
    before = fingerprint(sample)
    option = "--report" if spelling == "report" else "-o"
    done = j9262("validate", str(sample), option, str(target))
    assert_one_line_error(done)
    assert "is the input file" in done.stderr
    assert fingerprint(sample) == before


def test_stdin_redirected_from_the_output_file_is_refused(sample: Path) -> None:
    before = fingerprint(sample)
    with sample.open("rb") as stdin:
        done = j9262("validate", "-", "-o", str(sample), stdin=stdin)
    assert_one_line_error(done)
    assert fingerprint(sample) == before


def test_two_outputs_naming_one_file_are_refused(sample: Path, tmp_path: Path) -> None:
    done = j9262(
        "validate", str(sample), "-o", str(tmp_path / "a"), "--dead-letters", str(tmp_path / "a")
    )
    assert_one_line_error(done)
    assert "same file as --output" in done.stderr
    assert not (tmp_path / "a").exists()


def test_outputs_replace_the_old_files_and_leave_no_temporary_file(
    sample: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    old = out / "v.jsonl"
    old.write_text("old verdicts\n")
    old.chmod(0o640)
    done = j9262("validate", str(sample), "-o", str(old), "--report", str(out / "r.html"))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["r.html", "v.jsonl"]
    assert old.read_text().startswith("{")
    assert old.stat().st_mode & 0o777 == 0o640


def test_a_failed_run_leaves_every_output_as_it_was(tmp_path: Path) -> None:
    kept = tmp_path / "kept.jsonl"
    kept.write_text("before\n")
    fresh = tmp_path / "fresh.jsonl"
    with (
        pytest.raises(OSError, match="disk full"),
        atomic_outputs({"a": kept, "b": fresh, "c": None}) as files,
    ):
        assert files["c"] is None
        files["a"].write(b"half")  # type: ignore[union-attr]
        files["b"].write(b"half")  # type: ignore[union-attr]
        raise OSError("disk full")
    assert kept.read_text() == "before\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.jsonl"]


def test_a_device_output_is_written_in_place(sample: Path) -> None:
    done = j9262("validate", str(sample), "-o", os.devnull, "-q")
    assert done.returncode == 0, done.stderr
    assert Path(os.devnull).is_char_device()


def test_every_misuse_is_one_line_and_a_non_zero_exit(sample: Path, tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    (tmp_path / "link.jsonl").symlink_to(sample)
    cases: list[list[str]] = [
        ["validate", str(tmp_path / "missing.jsonl")],
        ["validate", str(folder)],
        ["validate", str(sample / "below-a-file")],
        ["validate"],
        ["validate", str(sample), "-o", str(tmp_path / "no-such-folder" / "v.jsonl")],
        ["validate", str(sample), "-o", str(folder)],
        ["validate", str(sample), "--report", str(folder)],
        ["validate", str(sample), "--claim-verdicts", str(tmp_path / "nope" / "c.jsonl")],
        ["validate", str(sample), "-o", str(sample)],
        ["validate", str(sample), "-o", str(tmp_path / "link.jsonl")],
        ["validate", str(sample), "--format", "xml"],
        ["validate", str(sample), "--bogus"],
        ["no-such-command"],
        ["--bogus"],
        ["produce", str(tmp_path / "missing.jsonl")],
        ["produce"],
        ["tail", "--idle-exit", "soon"],
        ["redrive", "--reason", "no_such_reason"],
        ["demo", "--timeout", "long"],
        ["broker", "--port", "high"],
        ["worker", "--bogus"],
        ["edits", "--bogus"],
        ["settings", "--bogus"],
        ["schemas", "export", "--dir", str(sample / "below-a-file")],
        ["refdata", "import", "mue", str(tmp_path / "missing.csv")],
        ["refdata", "import", "crosswalk", str(folder)],
    ]
    if os.geteuid() != 0:  # root reads any file
        unreadable = tmp_path / "unreadable.jsonl"
        unreadable.write_text("{}\n")
        unreadable.chmod(0)
        cases.append(["validate", str(unreadable)])
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda args: j9262(*args, cwd=tmp_path), cases))
    for args, done in zip(cases, results, strict=True):
        assert done.returncode != 0, args
        assert "Traceback" not in done.stderr, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, (args, done.stderr)
    assert fingerprint(sample)[0] == SAMPLE_PATH.read_bytes()


def test_csv_has_one_row_per_verdict_with_the_documented_columns(
    sample: Path, tmp_path: Path
) -> None:
    j9262("validate", str(sample), "-o", str(tmp_path / "v.jsonl"), "-q").check_returncode()
    done = j9262("validate", str(sample), "--format", "csv", "-o", str(tmp_path / "v.csv"), "-q")
    assert done.returncode == 0, done.stderr
    verdicts = [json.loads(x) for x in (tmp_path / "v.jsonl").read_text().splitlines()]
    with (tmp_path / "v.csv").open(newline="") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
        rows = list(reader)
    assert len(rows) == len(verdicts)
    for row, verdict in zip(rows, verdicts, strict=True):
        assert row["event_id"] == verdict["event_id"]
        assert row["disposition"] == verdict["disposition"]
        assert row["edits"] == ";".join(f["code"] for f in verdict["findings"])
        assert bool(row["first_suggestion"]) == bool(verdict["findings"])
    assert any(";" in row["edits"] for row in rows)


def test_csv_quotes_a_field_with_a_comma() -> None:
    doc = event("comma", claim={"payer": {"payer_id": "ACME, INC", "plan_type": "commercial"}})
    done = j9262("validate", "-", "--format", "csv", "-q", input=encode(doc).decode())
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [r["payer_id"] for r in rows] == ["ACME, INC"]


def test_progress_bar_on_a_terminal_only(sample: Path, tmp_path: Path) -> None:
    def stderr_on_a_terminal(*extra: str) -> bytes:
        leader, follower = pty.openpty()
        proc = subprocess.Popen(
            [J9262, "validate", str(sample), "-o", str(tmp_path / "v.jsonl"), *extra],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=follower,
        )
        os.close(follower)
        seen = b""
        while True:
            ready, _, _ = select.select([leader], [], [], 60)
            if not ready:
                break
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        os.close(leader)
        assert proc.wait(timeout=60) == 0, seen
        return seen

    assert b"validating" in stderr_on_a_terminal()
    quiet = stderr_on_a_terminal("--quiet")
    assert b"validating" not in quiet and b"verdict(s)" not in quiet
    piped = j9262("validate", str(sample), "-o", str(tmp_path / "v.jsonl"))
    assert "validating" not in piped.stderr
    assert len(piped.stderr.splitlines()) == 1  # the summary line


VOID = {"meta", "link", "br", "img", "input", "hr", "area", "base", "col", "source", "wbr"}


class Dom(HTMLParser):
    """Text by element id, the rows of each table, and what the page would load."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, str] = {}
        self.rows: dict[str, list[list[str]]] = {}
        self.loads: list[str] = []
        self.scripts = 0
        self._open: list[tuple[str, str | None]] = []
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
        for key in ("src", "href"):
            if a.get(key):
                self.loads.append(str(a[key]))
        if tag == "table":
            self._table = a.get("id") or ""
            self.rows[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.rows[self._table].append([])
        elif tag in ("td", "th"):
            self._cell = []
        if tag not in VOID:
            self._open.append((tag, a.get("id")))
        if a.get("id"):
            self.by_id[str(a["id"])] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self.rows[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        if tag == "table":
            self._table = None
        while self._open and self._open.pop()[0] != tag:
            pass

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        for _, key in self._open:
            if key:
                self.by_id[key] += data

    def body(self, table: str) -> list[list[str]]:
        return [r for r in self.rows[table] if r][1:]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("chromium is not installed (make test installs Debian's package)")
    return found


def test_report_rendered_by_a_headless_browser_shows_the_counts(
    sample: Path, tmp_path: Path
) -> None:
    report = tmp_path / "report.html"
    done = j9262(
        "validate",
        str(sample),
        "-o",
        str(tmp_path / "v.jsonl"),
        "--dead-letters",
        str(tmp_path / "dl.jsonl"),
        "--report",
        str(report),
        "-q",
    )
    assert done.returncode == 0, done.stderr
    browser = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", report.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    dom = Dom()
    dom.feed(browser.stdout)
    verdicts = [json.loads(x) for x in (tmp_path / "v.jsonl").read_text().splitlines()]
    letters = (tmp_path / "dl.jsonl").read_text().splitlines()
    dispositions = Counter(v["disposition"] for v in verdicts)
    assert dispositions["fail"] and dispositions["warn"] and letters
    assert dom.by_id["count-lines"] == str(len(verdicts))
    for name in ("fail", "warn", "pass", "out_of_scope"):
        assert dom.by_id[f"count-{name}"] == str(dispositions[name])
    assert dom.by_id["count-dead"] == str(len(letters))
    edits = Counter(code for v in verdicts for code in {f["code"] for f in v["findings"]})
    assert {row[0]: int(row[3]) for row in dom.body("by-edit")} == dict(edits)
    docs = {d["event_id"]: d for d in _json_objects(sample)}
    payers = Counter(docs[v["event_id"]]["claim"]["payer"]["payer_id"] for v in verdicts)
    assert {row[0]: int(row[1]) for row in dom.body("by-payer")} == dict(payers)
    to_fix = dom.body("to-fix")
    order = [row[6] for row in to_fix]
    assert order == sorted(order)  # every fail before any warn
    assert len(to_fix) == min(50, dispositions["fail"] + dispositions["warn"])
    assert all(row[8] for row in to_fix[: dispositions["fail"]]), "each failing line has a fix"
    assert dom.scripts == 0 and dom.loads == []  # self-contained: nothing to fetch
    patients = {d["claim"]["patient"]["patient_id"] for d in docs.values() if d["event_id"]}
    assert patients and not any(p in browser.stdout for p in patients)


def _json_objects(path: Path) -> list[dict[str, Any]]:
    """The sample's lines that are JSON objects with a claim and a patient."""
    found = []
    for raw in path.read_bytes().splitlines():
        try:
            doc = json.loads(raw)
            doc["claim"]["patient"]["patient_id"]
        except (ValueError, KeyError, TypeError):
            continue
        found.append(doc)
    return found
