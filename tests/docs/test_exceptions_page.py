"""The examples of docs/reference/exceptions.md, which includes them from here."""

from __future__ import annotations

import pytest

from rivusio import (
    AsyncStream,
    BackpressureConfig,
    ConfigError,
    PipeError,
    PipelineError,
    StreamError,
    SyncBasePipe,
)


class Parse(SyncBasePipe[str, float]):
    """Parse a number."""

    def process(self, data: str) -> float:
        return float(data)


class Invert(SyncBasePipe[float, float]):
    """Return 1 / x."""

    def process(self, data: float) -> float:
        return 1 / data


def test_pipe_error_takes_a_message_or_a_pipe_and_an_error() -> None:
    """PipeError("message") as in the user guide, or PipeError(pipe, error) as in 0.2.0."""
    plain = PipeError("Division by zero: division by zero")
    assert (str(plain), plain.pipe, plain.error) == (
        "Division by zero: division by zero",
        None,
        None,
    )

    cause = ValueError("not a number")
    pipe = Parse()
    detailed = PipeError(pipe, cause)
    assert str(detailed) == "pipe Parse: ValueError('not a number')"
    assert (detailed.pipe, detailed.error) == (pipe, cause)


def test_pipeline_error_names_the_failing_pipe() -> None:
    """Running a pipeline on one value raises PipelineError naming the pipe that failed."""
    pipeline = Parse() >> Invert()
    with pytest.raises(PipelineError) as caught:
        pipeline("0")

    error = caught.value
    assert str(error) == "stage 'Invert': ZeroDivisionError: float division by zero"
    assert error.stage == "Invert"
    assert isinstance(error.pipe, Invert)
    assert isinstance(error.error, ZeroDivisionError)
    assert error.__cause__ is error.error


async def test_stream_error_names_the_stage_and_the_item() -> None:
    """A failing stream raises StreamError: the stage, its input, and the cause."""
    with pytest.raises(StreamError) as caught:
        async for _ in AsyncStream(["4", "0"]).through(Parse() >> Invert()):
            pass

    error = caught.value
    assert str(error) == "stage 'Invert' failed: ZeroDivisionError: float division by zero"
    assert (error.stage, error.item, error.others) == ("Invert", 0.0, ())
    assert isinstance(error.__cause__, ZeroDivisionError)
    assert isinstance(error, PipeError)


def test_config_error_lists_every_bad_field() -> None:
    """ConfigError is a ValueError whose message has one line per bad field."""
    with pytest.raises(ConfigError) as caught:
        BackpressureConfig(max_buffer_size=-1, throttle_threshold=2)

    assert caught.value.problems == (
        "max_buffer_size: must be >= 0 (got -1)",
        (
            "throttle_threshold: must be > 0 and <= 1 (got 2.0); "
            "it is a fraction of max_buffer_size, e.g. 0.8 for 80%"
        ),
    )
    assert str(caught.value) == "\n".join(caught.value.problems)
    assert isinstance(caught.value, ValueError)
