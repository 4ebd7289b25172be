"""The test tiers hold: tests/conftest.py's hook, run on a small suite of its own, marks the
broker tier by folder and refuses a broker test elsewhere that lacks the marker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from streams.stream.kafka.embedded import EmbeddedBroker

CONFTEST = """
import pytest
from tests.conftest import pytest_collection_modifyitems  # the hook under test

@pytest.fixture(scope="session")
def broker():
    return "a broker"
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\nmarkers =\n    integration: the broker tier\n")
    pytester.makeconftest(CONFTEST)
    pytester.mkdir("tests")
    pytester.mkdir("tests/integration")
    pytester.path.joinpath("tests/integration/test_flow.py").write_text(
        "def test_with_the_broker(broker):\n    assert broker\n"
    )
    pytester.path.joinpath("tests/test_unit.py").write_text("def test_pure():\n    pass\n")
    return pytester


def test_the_fast_tier_leaves_out_everything_under_integration(suite: pytest.Pytester) -> None:
    result = suite.runpytest_inprocess("-m", "not integration", "-q")
    result.assert_outcomes(passed=1, deselected=1)
    result = suite.runpytest_inprocess("-m", "integration", "-q")
    result.assert_outcomes(passed=1, deselected=1)


def test_a_broker_test_outside_integration_needs_the_marker(suite: pytest.Pytester) -> None:
    suite.path.joinpath("tests/test_sneaky.py").write_text(
        "def test_uses_the_broker(broker):\n    assert broker\n"
    )
    result = suite.runpytest_inprocess("-m", "not integration")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*use the broker but are not marked integration: tests/test_sneaky.py::*"]
    )


def test_a_marked_broker_test_outside_integration_is_in_the_broker_tier(
    suite: pytest.Pytester,
) -> None:
    suite.path.joinpath("tests/test_marked.py").write_text(
        "import pytest\n\n@pytest.mark.integration\n"
        "def test_uses_the_broker(broker):\n    assert broker\n"
    )
    result = suite.runpytest_inprocess("-m", "not integration", "-q")
    result.assert_outcomes(passed=1, deselected=2)


def test_starting_a_broker_outside_the_broker_tier_fails_the_test() -> None:
    with pytest.raises(pytest.fail.Exception, match="starts a broker: mark it integration"):
        EmbeddedBroker().start()


@pytest.mark.parametrize(
    ("env", "profile"),
    [({}, "200 False"), ({"CI": "true"}, "1000 True"), ({"HYPOTHESIS_PROFILE": "ci"}, "1000 True")],
)
def test_the_hypothesis_profile_follows_the_environment(env: dict[str, str], profile: str) -> None:
    """`dev` by default; `ci` (more examples, the same each run) on CI or when asked."""
    script = (
        "import tests.conftest\nfrom hypothesis import settings\n"
        "print(settings.default.max_examples, settings.default.derandomize)"
    )
    clean = {k: v for k, v in os.environ.items() if k not in {"CI", "HYPOTHESIS_PROFILE"}}
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=clean | env,
        cwd=Path(__file__).parent.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.split()[-2:] == profile.split(), result.stderr[-2000:]
