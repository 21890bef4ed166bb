"""The exception tree and its messages."""

from __future__ import annotations

import pickle

from rivusio import ConfigError, PipeError, PipelineError, StreamError

from ..helpers import Double


def test_pipe_error_with_a_message() -> None:
    """PipeError("message") keeps the message and has no pipe or error."""
    error = PipeError("Division by zero: division by zero")
    assert str(error) == "Division by zero: division by zero"
    assert error.pipe is None
    assert error.error is None


def test_pipe_error_with_pipe_and_error() -> None:
    """PipeError(pipe, error) (rivusio 0.2.0) exposes both and names the pipe."""
    cause = ValueError("bad")
    error = PipeError(Double(), cause)
    assert error.error is cause
    assert error.pipe.name == "Double"
    assert str(error) == "pipe Double: ValueError('bad')"


def test_tree() -> None:
    """PipelineError and StreamError are PipeErrors; ConfigError is a ValueError."""
    assert issubclass(PipelineError, PipeError)
    assert issubclass(StreamError, PipeError)
    assert issubclass(ConfigError, ValueError)


def test_stream_error_names_stage_and_others() -> None:
    """StreamError's message names its stage and the other failures."""
    other = StreamError("b", KeyError("k"))
    error = StreamError("a", ValueError("v"), item=3, others=[other])
    assert error.stage == "a"
    assert error.item == 3
    assert error.others == (other,)
    assert str(error) == "stage 'a' failed: ValueError: v (and 1 more failure(s): 'b')"


def test_config_error_lists_problems() -> None:
    """ConfigError joins its problems one per line."""
    error = ConfigError(["a: must be > 0 (got 0)", "b: unknown key"])
    assert error.problems == ("a: must be > 0 (got 0)", "b: unknown key")
    assert str(error) == "a: must be > 0 (got 0)\nb: unknown key"


def test_errors_survive_pickling() -> None:
    """Errors cross process boundaries with their message and attributes."""
    stream_error = pickle.loads(pickle.dumps(StreamError("s", ValueError("v"), item=3)))
    assert (str(stream_error), stream_error.stage, stream_error.item) == (
        "stage 's' failed: ValueError: v",
        "s",
        3,
    )
    pipeline_error = pickle.loads(pickle.dumps(PipelineError("enrich", KeyError("k"))))
    assert (str(pipeline_error), pipeline_error.stage) == (
        "stage 'enrich': KeyError: 'k'",
        "enrich",
    )
    config_error = pickle.loads(pickle.dumps(ConfigError(["a: bad", "b: bad"])))
    assert config_error.problems == ("a: bad", "b: bad")
    assert str(pickle.loads(pickle.dumps(PipeError("plain")))) == "plain"
