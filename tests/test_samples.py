"""The bundled demo sample is what the builder makes, and covers what it claims."""

from __future__ import annotations

import io

from streams.cli.demo import sample_records
from streams.contract.models import Category, ClaimVerdict, LineVerdict
from streams.offline.runner import run
from streams.samples import SAMPLE_PATH, demo_sample
from streams.validation.validator import Validator


def test_bundled_file_matches_the_builder() -> None:
    assert SAMPLE_PATH.read_bytes() == b"\n".join(demo_sample()) + b"\n", (
        "run `python -m streams.samples` to regenerate demo-claims.jsonl"
    )


def test_sample_size() -> None:
    assert 40 <= len(sample_records()) <= 70


def test_sample_shows_a_finding_of_every_category(validator: Validator) -> None:
    lines, claims = io.BytesIO(), io.BytesIO()
    run(
        validator,
        sample_records(),
        source_name="sample",
        max_bytes=1 << 20,
        out=lines,
        dead_out=None,
        claims_out=claims,
    )
    categories = {
        f.category
        for verdict in [
            *map(LineVerdict.model_validate_json, lines.getvalue().splitlines()),
            *map(ClaimVerdict.model_validate_json, claims.getvalue().splitlines()),
        ]
        for f in verdict.findings
    }
    assert categories == set(Category)
