"""The bundled demo sample is what the builder makes, and covers what it claims."""

from __future__ import annotations

from streams.demo import sample_records
from streams.samples import SAMPLE_PATH, demo_sample


def test_bundled_file_matches_the_builder() -> None:
    assert SAMPLE_PATH.read_bytes() == b"\n".join(demo_sample()) + b"\n", (
        "run `python -m streams.samples` to regenerate demo-claims.jsonl"
    )


def test_sample_size() -> None:
    assert 40 <= len(sample_records()) <= 80
