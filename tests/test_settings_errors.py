"""A bad J9262_* setting is one line naming the variable, its value and what is
allowed, exit code 2, for every command; docs/configuration.md is the model's."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pydantic import ValidationError

from streams.settings import SETTINGS_EXIT_CODE, Settings, render_markdown, settings_error

ROOT = Path(__file__).resolve().parents[1]
J9262 = str(Path(sys.executable).with_name("j9262"))

BAD = [
    ({"J9262_STORE": "bogus"}, "J9262_STORE='bogus'", "memory:// or rocksdb://"),
    ({"J9262_BROKER_URL": ""}, "J9262_BROKER_URL=''", "kafka://host:port"),
    ({"J9262_BROKER_URL": "   "}, "J9262_BROKER_URL='   '", "kafka://host:port"),
    ({"J9262_BROKER_URL": "http://kafka:9092"}, "'http://kafka:9092'", "kafka://host:port"),
    ({"J9262_BROKER_URL": "kafka://a:9092;https://b:9092"}, "J9262_BROKER_URL=", "kafka://"),
    ({"J9262_BROKER_URL": "kafka://nohost"}, "J9262_BROKER_URL='kafka://nohost'", "host:port"),
    ({"J9262_BROKER_URL": "kafka://a:99999"}, "J9262_BROKER_URL=", "kafka://host:port"),
    ({"J9262_WEB_URL": "kafka://x:1"}, "J9262_WEB_URL='kafka://x:1'", "http://host:port"),
    ({"J9262_TOPIC_PARTITIONS": "0"}, "J9262_TOPIC_PARTITIONS='0'", "greater than or equal to 1"),
    ({"J9262_WEB_PORT": "many"}, "J9262_WEB_PORT='many'", "valid integer"),
    ({"J9262_LOG_LEVEL": "loud"}, "J9262_LOG_LEVEL='loud'", "'DEBUG', 'INFO'"),
    (
        {"J9262_SECURITY_PROTOCOL": "SASL_SSL", "J9262_SASL_PASSWORD": "s3cret"},
        "SASL needs J9262_SASL_USERNAME",
        "J9262_SASL_PASSWORD",
    ),
]


@pytest.mark.parametrize(("env", "names", "allowed"), BAD)
def test_the_message_names_the_variable_the_value_and_what_is_allowed(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], names: str, allowed: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)
    message = settings_error(caught.value)
    assert "\n" not in message
    assert names in message and allowed in message
    assert "s3cret" not in message


def test_a_secret_value_is_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("J9262_SASL_PASSWORD", "s3cret")
    monkeypatch.setenv("J9262_TOPIC_PARTITIONS", "-1")
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None, sasl_password=123)  # type: ignore[arg-type]
    message = settings_error(caught.value)
    assert "J9262_SASL_PASSWORD=(hidden)" in message and "J9262_TOPIC_PARTITIONS" in message
    assert "s3cret" not in message and "123" not in message


def test_good_urls_pass() -> None:
    for url in ("kafka://a:9092", "a:9092", "kafka://a:9092;kafka://b:9093", "a:1,b:2"):
        assert Settings(_env_file=None, broker_url=url).broker_url == url


@pytest.mark.parametrize(
    "command",
    [["validate", "-"], ["worker"], ["tail", "--idle-exit", "1"], ["produce", "-"], ["settings"]],
)
def test_every_command_stops_with_one_line_and_exit_code_2(
    command: list[str], tmp_path: Path
) -> None:
    def run(case: tuple[dict[str, str], str, str]) -> tuple[subprocess.CompletedProcess[str], str]:
        env, names, _ = case
        clean = {k: v for k, v in os.environ.items() if not k.startswith("J9262_")}
        done = subprocess.run(
            [J9262, *command],
            env=clean | env,
            input="",
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=120,
            check=False,
        )
        return done, names

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(run, BAD[:4] + BAD[-2:]))
    for done, names in outcomes:
        assert done.returncode == SETTINGS_EXIT_CODE, (command, done.stderr)
        assert "Traceback" not in done.stderr
        assert done.stderr.count("\n") == 1 and names in done.stderr, done.stderr


def test_configuration_reference_is_up_to_date() -> None:
    assert (ROOT / "docs" / "configuration.md").read_text() == render_markdown(), (
        "docs/configuration.md is out of date: run `make docs`"
    )


def test_every_setting_is_described_and_listed() -> None:
    reference = render_markdown()
    for name, info in Settings.model_fields.items():
        assert info.description and len(info.description) > 15, name
        assert f"`J9262_{name.upper()}`" in reference
