"""The examples of docs/reference/configuration.md, which includes them from here."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import attrs
import pytest

from rivusio.config import BackpressureConfig, PipeConfig, RetryConfig, StreamConfig
from rivusio.core.exceptions import ConfigError

EXAMPLE = Path(__file__).with_name("example.toml")


def test_load_a_stream_config_from_toml() -> None:
    """The TOML example loads into the config it describes."""
    letters: list[Any] = []
    config = StreamConfig.from_toml(EXAMPLE, table="rivusio.stream")
    config = attrs.evolve(config, dead_letter=letters)

    assert config.on_error == "dead_letter"
    assert config.retry == RetryConfig(
        attempts=4,
        delay=0.5,
        backoff=2.0,
        max_delay=10.0,
        jitter=0.1,
        retry_on=(TimeoutError, ConnectionError),
    )
    assert config.backpressure == BackpressureConfig(max_buffer_size=100, min_processing_time=0.01)
    assert config.dead_letter is letters


def test_every_problem_in_one_error() -> None:
    """One ConfigError lists every bad value, unknown key and missing key, with its path."""
    with pytest.raises(ConfigError) as caught:
        StreamConfig.from_dict(
            {
                "batch_size": "x",
                "on_error": "skp",
                "backpressure": {"max_buffer_size": -1, "overflw": "block"},
                "retry": {"attempts": 3, "retry_on": ["builtins.TimeoutErr"]},
            }
        )
    assert caught.value.problems == (
        "batch_size: must be an integer (got 'x')",
        (
            "on_error: must be one of 'raise', 'skip', 'dead_letter' or None (got 'skp'); "
            "did you mean 'skip'?"
        ),
        "retry.retry_on[0]: 'builtins' has no attribute 'TimeoutErr' (got 'builtins.TimeoutErr')",
        "backpressure.max_buffer_size: must be >= 0 (got -1)",
        "backpressure.overflw: unknown key; did you mean 'overflow'?",
    )


def test_a_pipe_config_subclass() -> None:
    """A PipeConfig subclass declares its own fields; extra keys are kept only on opt-in."""

    @attrs.frozen(kw_only=True)
    class DatabaseConfig(PipeConfig):
        host: str
        port: int = attrs.field(default=5432, validator=attrs.validators.gt(0))

    @attrs.frozen(kw_only=True)
    class PluginConfig(PipeConfig):
        allow_extra: ClassVar[bool] = True

    db = DatabaseConfig.from_dict({"name": "db", "host": "db.example.com"})
    assert (db.host, db.port) == ("db.example.com", 5432)

    with pytest.raises(ConfigError, match=r"^host: required key missing\ncolour: unknown key"):
        DatabaseConfig.from_dict({"colour": "red"})

    plugin = PluginConfig.from_dict({"name": "p", "colour": "red"})
    assert plugin.extras == {"colour": "red"}
    assert plugin.to_dict() == {"name": "p", "description": "", "colour": "red"}
