"""Peak memory of `j9262 validate` over a large file (BENCHMARKS.md, "validate memory").

Writes LINES lines of the benchmark mix (the demo sample's kinds of lines, each
copy with its own event and claim ids) to a file one line at a time, then runs
`j9262 validate` on it with every output (line verdicts, dead letters, claim
verdicts, the HTML report) under `/usr/bin/time -v` and reads "Maximum resident
set size". Run it again at a smaller size to see whether memory grows with lines:

    .venv/bin/python benchmarks/validate_rss.py --lines 1000000
    .venv/bin/python benchmarks/validate_rss.py --lines 100000
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import iter_mix


def write_lines(path: Path, count: int, patients: int) -> None:
    with path.open("wb") as fh:
        for raw in itertools.islice(iter_mix(patients=patients), count):
            fh.write(raw + b"\n")


def measure(path: Path, out: Path) -> dict[str, float]:
    j9262 = Path(sys.executable).with_name("j9262")
    started = time.monotonic()
    done = subprocess.run(
        [
            "/usr/bin/time",
            "-v",
            str(j9262),
            "validate",
            str(path),
            "-o",
            str(out / "verdicts.jsonl"),
            "--dead-letters",
            str(out / "dead.jsonl"),
            "--claim-verdicts",
            str(out / "claims.jsonl"),
            "--report",
            str(out / "report.html"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.monotonic() - started
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"no peak RSS in /usr/bin/time's output:\n{done.stderr}")
    return {"peak_rss_mb": int(found.group(1)) / 1024, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--patients", type=int, default=2000, help="x7 distinct patient ids")
    parser.add_argument("--dir", type=Path, default=None, help="Where to write (default: tmp).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        source = folder / "lines.jsonl"
        write_lines(source, args.lines, args.patients)
        size_mb = source.stat().st_size / 2**20
        result = measure(source, folder)
        claims = sum(1 for _ in (folder / "claims.jsonl").open("rb"))
    figures = {
        "lines": args.lines,
        "patients": args.patients * 7,
        "file_mb": round(size_mb, 1),
        "claim_verdicts": claims,
        "peak_rss_mb": round(result["peak_rss_mb"], 1),
        "lines_per_s": round(args.lines / result["seconds"]),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
