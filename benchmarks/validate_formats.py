"""`j9262 validate FILE` on a generated file of each input format: lines per second.

    python benchmarks/validate_formats.py [--lines 2000] [--runs 3]

Files are built from the J9262 test fixtures by benchmarks/adapters.py's builders, with
claim ids and patients varied so the stateful checks see a hospital's mix, not one
patient: X12 837P interchanges of 50 claims (2 service lines each) back to back, HL7 DFT
messages in MLLP frames (3 charges answered each; a credit withdraws the fourth), one
FHIR Bundle of 3-item Claims, and JSON Lines of events. Each run is the whole command in
a fresh process (start-up, reference data, detection, adapting, validation, writing
verdicts to /dev/null); the best of `--runs` is printed, wall and CPU (user + system,
which a shared host disturbs less), each less the same command on an empty file.
Not run by the tests: it measures, it asserts nothing.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from adapters import FIXTURES, fhir, x12

from streams.samples import event

J9262 = str(Path(sys.executable).with_name("j9262"))
MEASURABLE_S = 0.05  # a file answered in less time past the start-up gives no rate


def x12_file(lines: int) -> bytes:
    """Interchanges of 50 claims, 2 lines each, each interchange its own claims and members."""
    out = []
    for i in range(max(lines // 100, 1)):
        one = x12(50).replace(b"CLM-B-", f"CLM-B{i:03d}-".encode())
        out.append(one.replace(b"1EG4TE5MK73", f"1EG4TE{i:05d}".encode()))
    return b"".join(out)


def hl7_file(lines: int) -> bytes:
    """DFT messages of 4 charges and a credit, each its own account and patient."""
    one = (FIXTURES / "j9262-dft-p03.mllp").read_bytes()
    return b"".join(
        one.replace(b"ACCT-7781", f"ACCT-{n:05d}".encode()).replace(
            b"MRN-445566", f"MRN-{n:06d}".encode()
        )
        for n in range(max(lines // 3, 1))
    )


def fhir_file(lines: int) -> bytes:
    bundle = orjson.loads(fhir(max(lines // 3, 1)))
    for n, entry in enumerate(bundle["entry"]):
        resource = entry["resource"]
        if resource.get("resourceType") == "Claim" and n:
            resource["patient"] = {"reference": f"Patient/pat-{n}"}
    return orjson.dumps(bundle)


def jsonl_file(lines: int) -> bytes:
    return b"\n".join(
        orjson.dumps(event(f"bench-{n}", claim={"patient": {"patient_id": f"P-{n % 500}"}}))
        for n in range(lines)
    )


def seconds(path: Path) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one run of the command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([J9262, "validate", str(path), "-q", "-o", "/dev/null"], check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def count(path: Path) -> int:
    done = subprocess.run(
        [J9262, "validate", str(path), "-o", "/dev/null"], check=True, capture_output=True
    )
    return int(done.stderr.split(b"verdict(s)")[0].split(b": ")[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty.jsonl"
        empty.write_bytes(b"")
        runs = [seconds(empty) for _ in range(args.runs)]
        wall0, cpu0 = min(w for w, _ in runs), min(c for _, c in runs)
        print(f"start-up (empty file): {wall0:.2f} s wall, {cpu0:.2f} s CPU")
        print(
            f"{'format':<12}{'verdicts':>10}{'bytes':>12}{'best s':>9}{'lines/s':>10}"
            f"{'CPU s':>8}{'lines/CPU s':>13}"
        )
        for name, build in (
            ("x12-837p", x12_file),
            ("hl7v2-dft", hl7_file),
            ("fhir-r4", fhir_file),
            ("jsonl", jsonl_file),
        ):
            path = Path(tmp) / f"bench.{name}"
            path.write_bytes(build(args.lines))
            verdicts = count(path)
            runs = [seconds(path) for _ in range(args.runs)]
            best, cpu = min(w for w, _ in runs), min(c for _, c in runs)
            print(
                f"{name:<12}{verdicts:>10}{path.stat().st_size:>12,}{best:>9.2f}"
                f"{per_second(verdicts, best - wall0):>10}{cpu:>8.2f}"
                f"{per_second(verdicts, cpu - cpu0):>13}"
            )


def per_second(lines: int, seconds: float) -> str:
    """Lines a second past the start-up, or "-" when the run was not measurably longer
    than the start-up (a small file): the difference is noise, not a rate."""
    return f"{lines / seconds:,.0f}" if seconds >= MEASURABLE_S else "-"


if __name__ == "__main__":
    main()
