"""BackpressureConfig: defaults, checks, and the dict round trip."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given

from rivusio.config import BackpressureConfig
from rivusio.core.exceptions import ConfigError

from .strategies import backpressure_configs


def test_defaults() -> None:
    """The defaults are a 1000-item blocking buffer throttled from 80% full."""
    config = BackpressureConfig()
    assert config.max_buffer_size == 1000
    assert config.throttle_threshold == 0.8
    assert config.min_processing_time == 0.0
    assert config.overflow == "block"


def test_user_guide_construction() -> None:
    """The user guide's keyword construction works as written."""
    config = BackpressureConfig(
        max_buffer_size=1000, throttle_threshold=0.8, min_processing_time=0.1
    )
    assert (config.max_buffer_size, config.throttle_threshold, config.min_processing_time) == (
        1000,
        0.8,
        0.1,
    )


def test_fields_are_keyword_only() -> None:
    """Fields cannot be passed by position."""
    with pytest.raises(TypeError, match="positional"):
        BackpressureConfig(10)  # type: ignore[call-arg]


def test_frozen() -> None:
    """A config cannot be changed after construction."""
    config = BackpressureConfig()
    with pytest.raises(AttributeError):
        config.max_buffer_size = 5  # type: ignore[misc]


def test_duration_accepts_timedelta_and_stores_seconds() -> None:
    """min_processing_time takes a timedelta and stores float seconds."""
    config = BackpressureConfig(min_processing_time=timedelta(milliseconds=250))
    assert config.min_processing_time == 0.25
    assert type(config.min_processing_time) is float


def test_ints_become_floats() -> None:
    """Int values of float fields are stored as floats."""
    config = BackpressureConfig(throttle_threshold=1, min_processing_time=2)
    assert type(config.throttle_threshold) is float
    assert type(config.min_processing_time) is float
    assert config.to_dict()["min_processing_time"] == 2.0


def test_zero_buffer_is_allowed() -> None:
    """max_buffer_size=0 (every send waits for the receiver) is valid."""
    assert BackpressureConfig(max_buffer_size=0).max_buffer_size == 0


@pytest.mark.parametrize("overflow", ["block", "drop_oldest", "drop_newest", "error"])
def test_overflow_policies(overflow: Any) -> None:
    """Each documented overflow policy is accepted."""
    assert BackpressureConfig(overflow=overflow).overflow == overflow


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"max_buffer_size": -1}, "max_buffer_size: must be >= 0 (got -1)"),
        ({"max_buffer_size": 1.5}, "max_buffer_size: must be an integer (got 1.5)"),
        ({"max_buffer_size": True}, "max_buffer_size: must be an integer (got True)"),
        ({"max_buffer_size": "10"}, "max_buffer_size: must be an integer (got '10')"),
        ({"throttle_threshold": 0}, "throttle_threshold: must be > 0 and <= 1 (got 0.0)"),
        (
            {"throttle_threshold": 80},
            (
                "throttle_threshold: must be > 0 and <= 1 (got 80.0); "
                "it is a fraction of max_buffer_size, e.g. 0.8 for 80%"
            ),
        ),
        ({"throttle_threshold": "high"}, "throttle_threshold: must be a number (got 'high')"),
        (
            {"throttle_threshold": float("nan")},
            "throttle_threshold: must be finite (got nan)",
        ),
        ({"min_processing_time": -0.5}, "min_processing_time: must be >= 0 (got -0.5)"),
        (
            {"min_processing_time": timedelta(seconds=-1)},
            "min_processing_time: must be >= 0 (got -1.0)",
        ),
        (
            {"min_processing_time": float("inf")},
            "min_processing_time: must be finite (got inf)",
        ),
        (
            {"min_processing_time": "1s"},
            "min_processing_time: must be a number of seconds or a timedelta (got '1s')",
        ),
        (
            {"overflow": "drop_olds"},
            (
                "overflow: must be one of 'block', 'drop_oldest', 'drop_newest', 'error' "
                "(got 'drop_olds'); did you mean 'drop_oldest'?"
            ),
        ),
        (
            {"overflow": 3},
            "overflow: must be one of 'block', 'drop_oldest', 'drop_newest', 'error' (got 3)",
        ),
    ],
)
def test_bad_value_raises_config_error(kwargs: dict[str, Any], problem: str) -> None:
    """A bad value raises ConfigError naming the field, the expectation and the value."""
    with pytest.raises(ConfigError) as caught:
        BackpressureConfig(**kwargs)
    assert caught.value.problems == (problem,)
    assert str(caught.value) == problem


def test_every_bad_field_is_listed() -> None:
    """Direct construction lists every bad field, in field order."""
    with pytest.raises(ConfigError) as caught:
        BackpressureConfig(
            max_buffer_size=-1,
            throttle_threshold=2,
            min_processing_time=-1,
            overflow="x",  # type: ignore[arg-type]
        )
    assert caught.value.problems == (
        "max_buffer_size: must be >= 0 (got -1)",
        (
            "throttle_threshold: must be > 0 and <= 1 (got 2.0); "
            "it is a fraction of max_buffer_size, e.g. 0.8 for 80%"
        ),
        "min_processing_time: must be >= 0 (got -1.0)",
        "overflow: must be one of 'block', 'drop_oldest', 'drop_newest', 'error' (got 'x')",
    )


def test_config_error_is_a_value_error() -> None:
    """Callers that catch ValueError also catch a bad config."""
    with pytest.raises(ValueError, match=r"^max_buffer_size: must be >= 0 \(got -5\)$"):
        BackpressureConfig(max_buffer_size=-5)


def test_from_dict() -> None:
    """from_dict builds the config and fills in defaults."""
    config = BackpressureConfig.from_dict({"max_buffer_size": 10, "overflow": "drop_newest"})
    assert config == BackpressureConfig(max_buffer_size=10, overflow="drop_newest")


def test_from_dict_lists_bad_values_and_unknown_keys() -> None:
    """from_dict reports bad values and unknown keys together, with a spelling hint."""
    with pytest.raises(ConfigError) as caught:
        BackpressureConfig.from_dict(
            {"max_buffer_size": -1, "max_bufer_size": 3, "bogus": 1, "throttle_threshold": True}
        )
    assert caught.value.problems == (
        "max_buffer_size: must be >= 0 (got -1)",
        "throttle_threshold: must be a number (got True)",
        "max_bufer_size: unknown key; did you mean 'max_buffer_size'?",
        (
            "bogus: unknown key (valid keys: max_buffer_size, throttle_threshold, "
            "min_processing_time, overflow)"
        ),
    )


def test_to_dict() -> None:
    """to_dict writes plain values under the field names."""
    config = BackpressureConfig(min_processing_time=timedelta(seconds=1.5), overflow="error")
    assert config.to_dict() == {
        "max_buffer_size": 1000,
        "throttle_threshold": 0.8,
        "min_processing_time": 1.5,
        "overflow": "error",
    }


def test_hashable_and_comparable() -> None:
    """Equal configs are equal and hash alike."""
    assert BackpressureConfig(max_buffer_size=3) == BackpressureConfig(max_buffer_size=3)
    assert hash(BackpressureConfig(max_buffer_size=3)) == hash(
        BackpressureConfig(max_buffer_size=3)
    )
    assert BackpressureConfig(max_buffer_size=3) != BackpressureConfig(max_buffer_size=4)


@given(backpressure_configs())
def test_round_trip(config: BackpressureConfig) -> None:
    """from_dict(to_dict()) gives back an equal config."""
    assert BackpressureConfig.from_dict(config.to_dict()) == config


def test_int_too_large_for_a_float() -> None:
    """An int beyond float range is reported as not finite, not as an OverflowError."""
    with pytest.raises(ConfigError) as caught:
        BackpressureConfig(throttle_threshold=10**400, min_processing_time=10**400)
    assert caught.value.problems == (
        f"throttle_threshold: must be finite (got {10**400!r})",
        f"min_processing_time: must be finite (got {10**400!r})",
    )
