"""The bundled demo sample is what the builder makes, and covers what it claims."""

from __future__ import annotations

from streams.demo import sample_records
from streams.events import Category, LineVerdict
from streams.offline import results
from streams.samples import SAMPLE_PATH, demo_sample
from streams.verdicts import Validator


def test_bundled_file_matches_the_builder() -> None:
    assert SAMPLE_PATH.read_bytes() == b"\n".join(demo_sample()) + b"\n", (
        "run `python -m streams.samples` to regenerate demo-claims.jsonl"
    )


def test_sample_size() -> None:
    assert 40 <= len(sample_records()) <= 80


def test_sample_shows_a_finding_of_every_line_level_category(validator: Validator) -> None:
    """`duplicate` and `claim` findings need other lines; the stateful checks emit them."""
    categories = set()
    for _, item in results(validator, sample_records(), "sample", 1 << 20):
        if isinstance(item, LineVerdict):
            categories |= {f.category for f in item.findings}
    assert categories == set(Category) - {Category.DUPLICATE, Category.CLAIM}
