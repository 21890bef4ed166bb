"""Hypothesis strategies for valid config values."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import strategies as st

from rivusio.config import BackpressureConfig, RetryConfig, StreamConfig
from rivusio.core.exceptions import ConfigError, PipeError, StreamError

__all__ = ("backpressure_configs", "retry_configs", "seconds", "stream_configs")

EXCEPTIONS: list[type[Exception]] = [
    Exception,
    TimeoutError,
    ConnectionError,
    OSError,
    ValueError,
    KeyError,
    PipeError,
    StreamError,
    ConfigError,
]


def seconds(max_value: float = 1e6) -> st.SearchStrategy[float]:
    """Finite, non-negative durations in seconds, ints included."""
    return st.one_of(
        st.floats(min_value=0.0, max_value=max_value, allow_nan=False, allow_infinity=False),
        st.integers(min_value=0, max_value=int(max_value)),
    )


def durations(max_days: int = 3650) -> st.SearchStrategy[float | timedelta]:
    """Durations as seconds or as timedeltas (up to ten years by default)."""
    return st.one_of(
        seconds(),
        st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=max_days)),
    )


@st.composite
def backpressure_configs(draw: st.DrawFn) -> BackpressureConfig:
    """Any valid BackpressureConfig, built from seconds or timedeltas."""
    return BackpressureConfig(
        max_buffer_size=draw(st.integers(min_value=0, max_value=2**40)),
        throttle_threshold=draw(
            st.floats(min_value=0.0, max_value=1.0, exclude_min=True, allow_nan=False)
        ),
        min_processing_time=draw(durations()),
        overflow=draw(st.sampled_from(["block", "drop_oldest", "drop_newest", "error"])),
    )


@st.composite
def retry_configs(draw: st.DrawFn) -> RetryConfig:
    """Any valid RetryConfig, with retry_on drawn from importable exception classes."""
    return RetryConfig(
        attempts=draw(st.integers(min_value=1, max_value=100)),
        delay=draw(durations()),
        backoff=draw(st.floats(min_value=1.0, max_value=100.0, allow_nan=False)),
        max_delay=draw(st.none() | durations()),
        jitter=draw(st.floats(min_value=0.0, max_value=1.0, allow_nan=False)),
        retry_on=tuple(draw(st.lists(st.sampled_from(EXCEPTIONS), max_size=4))),
    )


@st.composite
def stream_configs(draw: st.DrawFn) -> StreamConfig:
    """Any valid StreamConfig without a dead-letter sink (sinks are not serialised)."""
    return StreamConfig(
        name=draw(st.none() | st.text(max_size=10)),
        retry_attempts=draw(st.integers(min_value=0, max_value=10)),
        retry_delay=draw(durations()),
        retry_backoff=draw(st.floats(min_value=1.0, max_value=10.0)),
        timeout=draw(st.none() | st.floats(min_value=0.001, max_value=1e6)),
        batch_size=draw(st.integers(min_value=1, max_value=10_000)),
        window_size=draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3650))),
        buffer_size=draw(st.integers(min_value=1, max_value=10_000)),
        collect_metrics=draw(st.booleans()),
        skip_none=draw(st.booleans()),
        on_error=draw(st.sampled_from([None, "raise", "skip", "dead_letter"])),
        retry=draw(st.none() | retry_configs()),
        backpressure=draw(st.none() | backpressure_configs()),
    )
