"""Offline throughput of each input adapter: claim lines mapped per second, one core.

    python benchmarks/adapters.py [--seconds 3] [--claims 50]

Each format is measured on a message of `--claims` J9262 claims built from the test
fixtures (X12: one interchange of that many claims; HL7: that many DFT messages in MLLP
frames, one record; FHIR: a Bundle of that many Claims; JSON Lines: that many events), so
per-message costs (pyx12's reader set-up, FHIR bundle indexing) count as in the stream.
Not run by the tests: it measures, it asserts nothing.
"""

from __future__ import annotations

import argparse
import copy
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from streams.adapters import adapt
from streams.samples import event

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "adapters" / "fixtures"


def x12(claims: int) -> bytes:
    """One interchange holding the 837P fixture's first subscriber loop `claims` times."""
    text = (FIXTURES / "j9262-837p.x12").read_text()
    head, rest = text.split("HL*2*1*22*0~", 1)
    subscriber = "HL*2*1*22*0~" + rest.split("HL*3*1*22*0~", 1)[0]
    body = "".join(
        subscriber.replace("HL*2*", f"HL*{n + 2}*").replace("CLM-P-0001", f"CLM-B-{n:05d}")
        for n in range(claims)
    )
    segments = body.count("~") + 3  # ST, BHT.. are in head; SE counted loosely
    tail = f"SE*{segments}*0001~\nGE*1*101~\nIEA*1*000000101~\n"
    return (head + body + tail).encode()


def hl7(claims: int) -> bytes:
    one = (FIXTURES / "j9262-dft-p03.mllp").read_bytes()
    return b"".join(one.replace(b"ACCT-7781", f"ACCT-{n:05d}".encode()) for n in range(claims))


def fhir(claims: int) -> bytes:
    bundle = orjson.loads((FIXTURES / "j9262-fhir-bundle.json").read_bytes())
    claim = bundle["entry"][0]["resource"]
    claim["item"] = claim["item"][:3]
    extra = []
    for n in range(1, claims):
        copied = copy.deepcopy(claim)
        copied["id"] = f"CLM-F-{n:05d}"
        extra.append({"fullUrl": f"urn:uuid:claim-{n}", "resource": copied})
    bundle["entry"].extend(extra)
    return orjson.dumps(bundle)


def jsonl(claims: int) -> bytes:
    return b"\n".join(orjson.dumps(event(f"bench-{n}")) for n in range(claims))


def measure(build: Callable[[int], bytes], claims: int, seconds: float) -> tuple[float, int]:
    data = build(claims)
    lines = len(adapt(data).events)
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        adapt(data)
        runs += 1
    elapsed = time.perf_counter() - start
    return runs * lines / elapsed, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--claims", type=int, default=50)
    args = parser.parse_args()
    print(f"{'adapter':<14}{'lines/message':>15}{'lines/s':>12}")
    for name, build in (("x12-837p", x12), ("hl7v2-dft", hl7), ("fhir-r4", fhir), ("jsonl", jsonl)):
        rate, lines = measure(build, args.claims, args.seconds)
        print(f"{name:<14}{lines:>15}{rate:>12,.0f}")


if __name__ == "__main__":
    main()
