"""Loading from TOML, and the shape of ConfigError's problem lines."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from rivusio.config import BackpressureConfig, RetryConfig, StreamConfig
from rivusio.core.exceptions import ConfigError

if TYPE_CHECKING:
    from pathlib import Path

STREAM_TOML = """\
[rivusio.stream]
name = "orders"
on_error = "skip"
window_size = 60
retry_attempts = 0

[rivusio.stream.retry]
attempts = 4
delay = 0.5
max_delay = 10
jitter = 0.1
retry_on = ["builtins.TimeoutError", "ConnectionError"]

[rivusio.stream.backpressure]
max_buffer_size = 100
overflow = "drop_oldest"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rivusio.toml"
    path.write_text(text)
    return path


def test_from_toml_top_level(tmp_path: Path) -> None:
    """A file whose top level is the config loads without a table name."""
    path = _write(tmp_path, "max_buffer_size = 10\nthrottle_threshold = 0.5\n")
    assert BackpressureConfig.from_toml(path) == BackpressureConfig(
        max_buffer_size=10, throttle_threshold=0.5
    )


def test_from_toml_dotted_table(tmp_path: Path) -> None:
    """A dotted table name finds a nested table; nested configs load from sub-tables."""
    config = StreamConfig.from_toml(_write(tmp_path, STREAM_TOML), table="rivusio.stream")
    assert config == StreamConfig(
        name="orders",
        on_error="skip",
        window_size=timedelta(minutes=1),
        retry_attempts=0,
        retry=RetryConfig(
            attempts=4,
            delay=0.5,
            max_delay=10,
            jitter=0.1,
            retry_on=(TimeoutError, ConnectionError),
        ),
        backpressure=BackpressureConfig(max_buffer_size=100, overflow="drop_oldest"),
    )


def test_from_toml_accepts_str_path(tmp_path: Path) -> None:
    """The path may be a string."""
    path = _write(tmp_path, "[bp]\nmax_buffer_size = 3\n")
    assert BackpressureConfig.from_toml(str(path), table="bp").max_buffer_size == 3


def test_from_toml_problems_start_with_the_table(tmp_path: Path) -> None:
    """Problem paths are TOML key paths, starting with the table name."""
    path = _write(
        tmp_path,
        "[stream]\nbatch_size = 0\nextra = 1\n[stream.backpressure]\nthrottle_threshold = 1.5\n",
    )
    with pytest.raises(ConfigError) as caught:
        StreamConfig.from_toml(path, table="stream")
    assert caught.value.problems == (
        "stream.batch_size: must be >= 1 (got 0)",
        (
            "stream.backpressure.throttle_threshold: must be > 0 and <= 1 (got 1.5); "
            "it is a fraction of max_buffer_size, e.g. 0.8 for 80%"
        ),
        (
            "stream.extra: unknown key (valid keys: name, retry_attempts, retry_delay, "
            "retry_backoff, timeout, batch_size, window_size, buffer_size, collect_metrics, "
            "skip_none, on_error, dead_letter, retry, backpressure)"
        ),
    )


def test_from_toml_missing_table(tmp_path: Path) -> None:
    """A missing table is named up to the part that is missing."""
    path = _write(tmp_path, "[rivusio]\nx = 1\n")
    with pytest.raises(ConfigError) as caught:
        StreamConfig.from_toml(path, table="rivusio.stream")
    assert caught.value.problems == (f"rivusio.stream: table missing from {str(path)!r}",)


def test_from_toml_not_a_table(tmp_path: Path) -> None:
    """A table name that leads to a plain value is refused."""
    path = _write(tmp_path, "stream = 5\n")
    with pytest.raises(ConfigError) as caught:
        StreamConfig.from_toml(path, table="stream")
    assert caught.value.problems == ("stream: must be a table (got 5)",)


def test_from_toml_invalid_toml(tmp_path: Path) -> None:
    """A file that is not TOML is reported with the parser's message, chained."""
    path = _write(tmp_path, "max_buffer_size = = 3\n")
    with pytest.raises(ConfigError, match=r": invalid TOML: Invalid value \(at line 1") as caught:
        BackpressureConfig.from_toml(path)
    assert caught.value.problems[0].startswith(f"{path}: invalid TOML")
    assert caught.value.__cause__ is not None


def test_from_toml_missing_file(tmp_path: Path) -> None:
    """A file that cannot be read raises the OSError."""
    with pytest.raises(FileNotFoundError):
        BackpressureConfig.from_toml(tmp_path / "absent.toml")


def test_top_level_not_a_mapping() -> None:
    """A non-mapping given to from_dict is reported under the class name."""
    with pytest.raises(ConfigError) as caught:
        StreamConfig.from_dict([1, 2])  # type: ignore[arg-type]
    assert caught.value.problems == (
        "StreamConfig: must be a mapping (a TOML table) (got [1, 2])",
    )


def test_message_is_one_line_per_problem() -> None:
    """str(ConfigError) has one problem per line, in the order of .problems."""
    with pytest.raises(ConfigError) as caught:
        RetryConfig.from_dict({"attempts": 0, "jitter": 2, "bogus": None})
    assert str(caught.value).splitlines() == list(caught.value.problems)
    assert caught.value.problems == (
        "attempts: must be >= 1 (got 0)",
        (
            "jitter: must be >= 0 and <= 1 (got 2.0); "
            "it is a fraction of the delay, e.g. 0.1 for up to 10% either way"
        ),
        "bogus: unknown key (valid keys: attempts, delay, backoff, max_delay, jitter, retry_on)",
    )


def test_public_names() -> None:
    """rivusio.config exports exactly its documented names, each defined once."""
    import rivusio.config

    assert rivusio.config.__all__ == (
        "StreamConfig",
        "BackpressureConfig",
        "OverflowPolicy",
        "RetryConfig",
        "PipeConfig",
        "ParallelConfig",
        "ExecutionStrategy",
    )
    for name in rivusio.config.__all__:
        assert getattr(rivusio.config, name) is not None
