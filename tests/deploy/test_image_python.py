"""benchmarks/image_python.sh builds the interpreter `make bench-image` measures: it must
stay the CPython the image runs on (deploy/Dockerfile's base), or the figures it gives
are another interpreter's."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "image_python.sh"


def test_the_benchmark_interpreter_is_the_images_python_version() -> None:
    bases = re.findall(
        r"^FROM python:(\d+\.\d+)-slim", (ROOT / "deploy/Dockerfile").read_text(), re.M
    )
    built = re.search(r"^VERSION=(\d+\.\d+)\.\d+$", SCRIPT.read_text(), re.M)
    assert bases and built is not None
    assert set(bases) == {built.group(1)}, (
        f"the image runs Python {sorted(set(bases))}, benchmarks/image_python.sh builds "
        f"{built.group(1)}: change both"
    )


def test_it_builds_as_the_official_image_does() -> None:
    """docker-library/python's configure flags that decide the interpreter's speed."""
    text = SCRIPT.read_text()
    for flag in ("--enable-optimizations", "--with-lto", "--enable-shared"):
        assert flag in text
    assert re.search(r"^SHA256=[0-9a-f]{64}$", text, re.M), "the source is checked by checksum"


def test_the_script_parses() -> None:
    checked = subprocess.run(["sh", "-n", str(SCRIPT)], check=False, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
