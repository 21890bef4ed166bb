"""StreamConfig: 0.2.0 fields and defaults, error settings, nesting, and round trips."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import anyio
import pytest
from hypothesis import given

from rivusio.config import BackpressureConfig, RetryConfig, StreamConfig
from rivusio.core.exceptions import ConfigError

from .strategies import stream_configs


def test_defaults() -> None:
    """The defaults are rivusio 0.2.0's, with skip_none off and no new settings."""
    config = StreamConfig()
    assert config.name is None
    assert config.retry_attempts == 3
    assert config.retry_delay == 1.0
    assert config.retry_backoff == 2.0
    assert config.timeout == 30.0
    assert config.batch_size == 1
    assert config.window_size == timedelta(0)
    assert config.buffer_size == 1000
    assert config.collect_metrics is True
    assert config.skip_none is False
    assert config.on_error is None
    assert config.dead_letter is None
    assert config.retry is None
    assert config.backpressure is None


def test_rivusio_020_docstring_example() -> None:
    """0.2.0's documented keyword construction works as written."""
    config = StreamConfig(
        name="sensor_stream", batch_size=100, window_size=timedelta(minutes=5), buffer_size=1000
    )
    assert config.window_size.total_seconds() == 300.0
    assert (config.name, config.batch_size, config.buffer_size) == ("sensor_stream", 100, 1000)


def test_window_size_accepts_seconds() -> None:
    """window_size takes seconds and stores a timedelta, as 0.2.0's pydantic model did."""
    assert StreamConfig(window_size=2.5).window_size == timedelta(seconds=2.5)
    assert StreamConfig(window_size=0).window_size == timedelta(0)


def test_retry_delay_accepts_timedelta() -> None:
    """retry_delay and timeout take timedeltas and store float seconds."""
    config = StreamConfig(retry_delay=timedelta(milliseconds=20), timeout=timedelta(minutes=2))
    assert (config.retry_delay, config.timeout) == (0.02, 120.0)


def test_timeout_may_be_none() -> None:
    """timeout=None means no timeout."""
    assert StreamConfig(timeout=None).timeout is None


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"name": 5}, "name: must be a string or None (got 5)"),
        ({"retry_attempts": -1}, "retry_attempts: must be >= 0 (got -1)"),
        ({"retry_delay": -1}, "retry_delay: must be >= 0 (got -1.0)"),
        ({"retry_backoff": 0.5}, "retry_backoff: must be >= 1 (got 0.5)"),
        ({"timeout": 0}, "timeout: must be > 0 (got 0.0)"),
        ({"batch_size": 0}, "batch_size: must be >= 1 (got 0)"),
        ({"batch_size": "x"}, "batch_size: must be an integer (got 'x')"),
        (
            {"window_size": -1},
            "window_size: must be >= 0 (got datetime.timedelta(days=-1, seconds=86399))",
        ),
        ({"window_size": float("inf")}, "window_size: must be finite (got inf)"),
        ({"window_size": 10**400}, f"window_size: must be finite (got {10**400!r})"),
        (
            {"window_size": 1e20},
            "window_size: must be at most timedelta.max in seconds (got 1e+20)",
        ),
        (
            {"window_size": "5m"},
            "window_size: must be a number of seconds or a timedelta (got '5m')",
        ),
        ({"buffer_size": 0}, "buffer_size: must be >= 1 (got 0)"),
        ({"collect_metrics": 1}, "collect_metrics: must be a boolean (got 1)"),
        ({"skip_none": "no"}, "skip_none: must be a boolean (got 'no')"),
        (
            {"on_error": "skp"},
            (
                "on_error: must be one of 'raise', 'skip', 'dead_letter' or None (got 'skp'); "
                "did you mean 'skip'?"
            ),
        ),
        (
            {"dead_letter": 5},
            "dead_letter: must be a callable, a list or an anyio object send stream (got 5)",
        ),
        (
            {"retry": 3},
            "retry: must be a RetryConfig, a mapping of its keys, or None (got 3)",
        ),
        (
            {"backpressure": {"max_buffer_size": 1}},
            (
                "backpressure: must be a BackpressureConfig, a mapping of its keys, or None "
                "(got {'max_buffer_size': 1})"
            ),
        ),
    ],
)
def test_bad_values(kwargs: dict[str, Any], problem: str) -> None:
    """Each bad value is named; a mapping is not a nested config when constructing directly."""
    with pytest.raises(ConfigError) as caught:
        StreamConfig(**kwargs)
    assert caught.value.problems == (problem,)


@pytest.mark.parametrize("policy", ["raise", "skip", "dead_letter"])
def test_error_policies(policy: Any) -> None:
    """Each error policy is accepted."""
    assert StreamConfig(on_error=policy).on_error == policy


def test_dead_letter_sinks() -> None:
    """A list, a callable and an anyio send stream are accepted as dead-letter sinks."""
    letters: list[Any] = []
    send, receive = anyio.create_memory_object_stream[Any](1)
    with send, receive:
        assert StreamConfig(dead_letter=letters).dead_letter is letters
        assert StreamConfig(dead_letter=letters.append).dead_letter == letters.append
        assert StreamConfig(dead_letter=send).dead_letter is send


def test_dead_letter_is_not_serialised() -> None:
    """to_dict leaves the sink out; a config with a list sink is still hashable."""
    config = StreamConfig(on_error="dead_letter", dead_letter=[1, 2, 3])
    assert "dead_letter" not in config.to_dict()
    assert StreamConfig.from_dict(config.to_dict()).dead_letter is None
    assert hash(config) == hash(StreamConfig(on_error="dead_letter"))


def test_dead_letter_list_repr_shows_its_size() -> None:
    """The repr shows how many dead letters a list holds, not the letters."""
    assert "dead_letter=<list of 3 items>" in repr(StreamConfig(dead_letter=[1, 2, 3]))
    assert "dead_letter=None" in repr(StreamConfig())


def test_from_dict_accepts_a_sink_object() -> None:
    """A mapping built in Python may carry a sink; it is checked like any value."""
    letters: list[Any] = []
    assert StreamConfig.from_dict({"dead_letter": letters}).dead_letter is letters


def test_effective_retry_prefers_retry() -> None:
    """An explicit retry wins over the 0.2.0 fields."""
    retry = RetryConfig(attempts=5)
    assert StreamConfig(retry=retry, retry_attempts=2).effective_retry() is retry


def test_effective_retry_maps_020_fields() -> None:
    """retry_attempts/retry_delay/retry_backoff map to a RetryConfig with as many tries."""
    config = StreamConfig(retry_attempts=4, retry_delay=0.5, retry_backoff=3)
    assert config.effective_retry() == RetryConfig(attempts=4, delay=0.5, backoff=3.0)
    assert StreamConfig().effective_retry() == RetryConfig(attempts=3, delay=1.0, backoff=2.0)


@pytest.mark.parametrize("attempts", [0, 1])
def test_effective_retry_none_for_a_single_try(attempts: int) -> None:
    """retry_attempts 0 (0.2.0: fail every item) and 1 both mean one try, no retry."""
    assert StreamConfig(retry_attempts=attempts).effective_retry() is None


def test_effective_retry_delays_match_020_for_three_tries() -> None:
    """With 0.2.0's defaults the waits are 1 s then 2 s, as 0.2.0 slept them."""
    retry = StreamConfig().effective_retry()
    assert retry is not None
    assert [retry.delay_for(n, 0.5) for n in (1, 2)] == [1.0, 2.0]


def test_effective_backpressure() -> None:
    """An explicit backpressure wins; otherwise buffer_size sets the buffer."""
    explicit = BackpressureConfig(max_buffer_size=7)
    assert StreamConfig(backpressure=explicit).effective_backpressure() is explicit
    assert StreamConfig(buffer_size=50).effective_backpressure() == BackpressureConfig(
        max_buffer_size=50
    )


def test_nested_problems_are_reported_with_paths() -> None:
    """Problems in nested tables, unknown keys and bad top-level values come in one error."""
    with pytest.raises(ConfigError) as caught:
        StreamConfig.from_dict(
            {"backpressure": {"max_buffer_size": -1, "bogus": 1}, "batch_size": "x"}
        )
    assert caught.value.problems == (
        "batch_size: must be an integer (got 'x')",
        "backpressure.max_buffer_size: must be >= 0 (got -1)",
        (
            "backpressure.bogus: unknown key (valid keys: max_buffer_size, throttle_threshold, "
            "min_processing_time, overflow)"
        ),
    )


def test_deeply_nested_problems() -> None:
    """Problems inside retry_on carry the index below the nested path."""
    with pytest.raises(ConfigError) as caught:
        StreamConfig.from_dict(
            {"retry": {"attempts": 0, "retry_on": ["TimeoutError", "NoSuchError"]}, "x": 1}
        )
    assert caught.value.problems == (
        "retry.attempts: must be >= 1 (got 0)",
        "retry.retry_on[1]: 'builtins' has no attribute 'NoSuchError' (got 'NoSuchError')",
        (
            "x: unknown key (valid keys: name, retry_attempts, retry_delay, retry_backoff, "
            "timeout, batch_size, window_size, buffer_size, collect_metrics, skip_none, "
            "on_error, dead_letter, retry, backpressure)"
        ),
    )


def test_nested_not_a_mapping() -> None:
    """A nested config given as a plain value is reported at its key."""
    with pytest.raises(ConfigError) as caught:
        StreamConfig.from_dict({"retry": [1, 2]})
    assert caught.value.problems == (
        "retry: must be a RetryConfig, a mapping of its keys, or None (got [1, 2])",
    )


def test_nested_configs_from_dict() -> None:
    """Nested configs load from mappings or instances, and None keeps them unset."""
    retry = RetryConfig(attempts=2)
    config = StreamConfig.from_dict(
        {"retry": retry, "backpressure": {"overflow": "error"}, "on_error": None}
    )
    assert config.retry is retry
    assert config.backpressure == BackpressureConfig(overflow="error")
    assert StreamConfig.from_dict({"retry": None}).retry is None


def test_to_dict() -> None:
    """to_dict writes window_size as seconds and nested configs as dicts."""
    config = StreamConfig(
        name="s",
        window_size=timedelta(minutes=1, microseconds=5),
        retry=RetryConfig(attempts=2, retry_on=[TimeoutError]),
        backpressure=BackpressureConfig(max_buffer_size=5),
    )
    assert config.to_dict() == {
        "name": "s",
        "retry_attempts": 3,
        "retry_delay": 1.0,
        "retry_backoff": 2.0,
        "timeout": 30.0,
        "batch_size": 1,
        "window_size": 60.000005,
        "buffer_size": 1000,
        "collect_metrics": True,
        "skip_none": False,
        "on_error": None,
        "retry": {
            "attempts": 2,
            "delay": 0.0,
            "backoff": 2.0,
            "max_delay": None,
            "jitter": 0.0,
            "retry_on": ["builtins.TimeoutError"],
        },
        "backpressure": {
            "max_buffer_size": 5,
            "throttle_threshold": 0.8,
            "min_processing_time": 0.0,
            "overflow": "block",
        },
    }
    assert StreamConfig.from_dict(config.to_dict()) == config


@given(stream_configs())
def test_round_trip(config: StreamConfig) -> None:
    """from_dict(to_dict()) gives back an equal config, timedeltas included."""
    assert StreamConfig.from_dict(config.to_dict()) == config
