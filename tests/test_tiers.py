"""The test tiers hold: tests/conftest.py's hook, run on a small suite of its own, marks the
broker tier by folder and refuses a broker test elsewhere that lacks the marker."""

from __future__ import annotations

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
