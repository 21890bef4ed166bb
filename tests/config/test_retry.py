"""RetryConfig: defaults, delays, what is retried, and exception classes by name."""

from __future__ import annotations

import json.decoder
import math
import sys
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given

from rivusio.config import RetryConfig
from rivusio.core.exceptions import ConfigError, PipeError, StreamError

from .strategies import retry_configs

if TYPE_CHECKING:
    from pathlib import Path


def test_defaults() -> None:
    """By default there is one try (no retry), and every Exception would be retried."""
    config = RetryConfig()
    assert config.attempts == 1
    assert config.delay == 0.0
    assert config.backoff == 2.0
    assert config.max_delay is None
    assert config.jitter == 0.0
    assert config.retry_on == (Exception,)


def test_durations_accept_timedeltas() -> None:
    """delay and max_delay take timedeltas and store float seconds."""
    config = RetryConfig(delay=timedelta(milliseconds=500), max_delay=timedelta(minutes=1))
    assert (config.delay, config.max_delay) == (0.5, 60.0)


def test_delay_for_grows_by_backoff_and_caps() -> None:
    """delay_for is delay * backoff ** (attempt - 1), capped at max_delay."""
    config = RetryConfig(attempts=6, delay=0.5, backoff=2, max_delay=3)
    assert [config.delay_for(n, 0.5) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_delay_for_without_backoff() -> None:
    """backoff=1 keeps every delay equal."""
    config = RetryConfig(delay=0.25, backoff=1)
    assert [config.delay_for(n, 0.5) for n in (1, 2, 10)] == [0.25, 0.25, 0.25]


def test_delay_for_jitter() -> None:
    """Jitter moves the delay by up to jitter * d down (rand=0) or up (rand=1)."""
    config = RetryConfig(delay=2.0, backoff=2.0, jitter=0.25)
    assert config.delay_for(1, 0.0) == 1.5
    assert config.delay_for(1, 0.5) == 2.0
    assert config.delay_for(1, 1.0) == 2.5
    assert config.delay_for(2, 0.0) == 3.0
    assert config.delay_for(2, 0.75) == 4.5


def test_delay_for_jitter_applies_after_the_cap() -> None:
    """The cap bounds the computed delay; jitter then spreads the capped value."""
    config = RetryConfig(delay=1.0, backoff=10.0, max_delay=4.0, jitter=0.5)
    assert config.delay_for(3, 1.0) == 6.0
    assert config.delay_for(3, 0.0) == 2.0


def test_delay_for_is_never_negative() -> None:
    """Full jitter at rand=0 gives zero, not a negative delay."""
    assert RetryConfig(delay=1.0, jitter=1.0).delay_for(1, 0.0) == 0.0


def test_delay_for_zero_delay() -> None:
    """delay=0 retries at once however large the backoff and attempt."""
    assert RetryConfig(delay=0, backoff=100).delay_for(1000, 1.0) == 0.0


def test_delay_for_huge_attempts() -> None:
    """A delay that overflows floats is inf without a cap and the cap with one."""
    assert RetryConfig(delay=1.0, backoff=10.0).delay_for(2000, 0.5) == math.inf
    assert RetryConfig(delay=1.0, backoff=10.0, jitter=0.5).delay_for(400, 0.0) == math.inf
    assert RetryConfig(delay=1.0, backoff=10.0, max_delay=60).delay_for(2000, 0.5) == 60.0


@pytest.mark.parametrize(
    ("attempt", "rand", "message"),
    [
        (0, 0.5, r"^attempt: must be >= 1 \(got 0\)$"),
        (1, -0.1, r"^rand: must be >= 0 and <= 1 \(got -0.1\)$"),
        (1, 1.5, r"^rand: must be >= 0 and <= 1 \(got 1.5\)$"),
    ],
)
def test_delay_for_checks_its_arguments(attempt: int, rand: float, message: str) -> None:
    """delay_for rejects attempts below 1 and rand outside [0, 1]."""
    with pytest.raises(ValueError, match=message):
        RetryConfig().delay_for(attempt, rand)


def test_should_retry() -> None:
    """Only instances of the retry_on classes are retried."""
    config = RetryConfig(retry_on=(TimeoutError, PipeError))
    assert config.should_retry(TimeoutError())
    assert config.should_retry(StreamError("stage", ValueError()))
    assert not config.should_retry(ValueError())


def test_should_retry_never_retries_interrupts() -> None:
    """The default retry_on=(Exception,) does not cover KeyboardInterrupt or SystemExit."""
    config = RetryConfig()
    assert config.should_retry(RuntimeError())
    assert not config.should_retry(KeyboardInterrupt())
    assert not config.should_retry(SystemExit())


def test_empty_retry_on_retries_nothing() -> None:
    """retry_on=() is valid and retries nothing."""
    assert not RetryConfig(retry_on=()).should_retry(Exception())


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (TimeoutError, (TimeoutError,)),
        ("TimeoutError", (TimeoutError,)),
        (["builtins.TimeoutError", ValueError], (TimeoutError, ValueError)),
        (("rivusio.core.exceptions:StreamError",), (StreamError,)),
        (["rivusio.core.exceptions.PipeError"], (PipeError,)),
        (["json.decoder.JSONDecodeError"], (json.decoder.JSONDecodeError,)),
        (["json:decoder.JSONDecodeError"], (json.decoder.JSONDecodeError,)),
    ],
)
def test_retry_on_spellings(given: Any, expected: tuple[type[Exception], ...]) -> None:
    """retry_on takes one class or name, or a list of them, and stores a tuple of classes."""
    assert RetryConfig(retry_on=given).retry_on == expected


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        (
            ["nopackage_rivusio_test.Error"],
            (
                "retry_on[0]: no module named 'nopackage_rivusio_test' "
                "(got 'nopackage_rivusio_test.Error')"
            ),
        ),
        (
            ["nopackage_rivusio_test:Error"],
            (
                "retry_on[0]: no module named 'nopackage_rivusio_test' "
                "(got 'nopackage_rivusio_test:Error')"
            ),
        ),
        (
            ["builtins.TimeoutErr"],
            "retry_on[0]: 'builtins' has no attribute 'TimeoutErr' (got 'builtins.TimeoutErr')",
        ),
        (
            ["json:decoder.Nope"],
            "retry_on[0]: 'json.decoder' has no attribute 'Nope' (got 'json:decoder.Nope')",
        ),
        (
            ["NoSuchError"],
            "retry_on[0]: 'builtins' has no attribute 'NoSuchError' (got 'NoSuchError')",
        ),
        (
            ["builtins.KeyboardInterrupt"],
            (
                "retry_on[0]: 'builtins.KeyboardInterrupt' is not a subclass of Exception; "
                "interrupts and cancellation are never retried (got 'builtins.KeyboardInterrupt')"
            ),
        ),
        (
            [SystemExit],
            (
                "retry_on[0]: must be a subclass of Exception (got <class 'SystemExit'>); "
                "interrupts and cancellation are never retried"
            ),
        ),
        (
            ["builtins.len"],
            (
                "retry_on[0]: 'builtins.len' is <built-in function len>, not an exception class "
                "(got 'builtins.len')"
            ),
        ),
        (
            [5],
            (
                "retry_on[0]: must be an exception class or its name, such as "
                "'builtins.TimeoutError' (got 5)"
            ),
        ),
        (
            [int],
            (
                "retry_on[0]: must be an exception class or its name, such as "
                "'builtins.TimeoutError' (got <class 'int'>)"
            ),
        ),
        (
            [""],
            "retry_on[0]: a name must be non-empty and have no surrounding spaces (got '')",
        ),
        (
            [" TimeoutError"],
            (
                "retry_on[0]: a name must be non-empty and have no surrounding spaces "
                "(got ' TimeoutError')"
            ),
        ),
        ([":Error"], "retry_on[0]: the form is 'module:Qual.Name' (got ':Error')"),
        (
            5,
            (
                "retry_on: must be an exception class, a name such as 'builtins.TimeoutError', "
                "or a list of them (got 5)"
            ),
        ),
    ],
)
def test_retry_on_problems(given: Any, problem: str) -> None:
    """A retry_on entry that is not an Exception subclass is reported with its index."""
    with pytest.raises(ConfigError) as caught:
        RetryConfig(retry_on=given)
    assert caught.value.problems == (problem,)


def test_retry_on_reports_each_bad_entry() -> None:
    """Every bad entry of retry_on is reported, the good ones are not."""
    with pytest.raises(ConfigError) as caught:
        RetryConfig.from_dict({"retry_on": ["TimeoutError", "nope_rivusio.X", 3]})
    assert caught.value.problems == (
        "retry_on[1]: no module named 'nope_rivusio' (got 'nope_rivusio.X')",
        (
            "retry_on[2]: must be an exception class or its name, such as "
            "'builtins.TimeoutError' (got 3)"
        ),
    )


def _module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, source: str) -> None:
    (tmp_path / f"{name}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)


def test_module_that_fails_to_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A module that raises on import is reported with its error."""
    _module(tmp_path, monkeypatch, "rivusio_broken_mod", "raise RuntimeError('boom')\n")
    with pytest.raises(ConfigError) as caught:
        RetryConfig(retry_on=["rivusio_broken_mod.Error"])
    assert caught.value.problems == (
        (
            "retry_on[0]: importing 'rivusio_broken_mod' failed: RuntimeError: boom "
            "(got 'rivusio_broken_mod.Error')"
        ),
    )


def test_module_with_a_missing_dependency(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A module whose own import is missing is reported as such, not as absent."""
    _module(tmp_path, monkeypatch, "rivusio_needy_mod", "import rivusio_absent_dep\n")
    with pytest.raises(ConfigError) as caught:
        RetryConfig(retry_on=["rivusio_needy_mod.Error"])
    assert caught.value.problems == (
        (
            "retry_on[0]: importing 'rivusio_needy_mod' failed: "
            "No module named 'rivusio_absent_dep' (got 'rivusio_needy_mod.Error')"
        ),
    )


def test_module_colon_form_that_fails_to_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The module:Name form reports an import failure too."""
    _module(tmp_path, monkeypatch, "rivusio_broken_mod2", "raise KeyError('k')\n")
    with pytest.raises(ConfigError) as caught:
        RetryConfig(retry_on=["rivusio_broken_mod2:Error"])
    assert caught.value.problems == (
        (
            "retry_on[0]: importing 'rivusio_broken_mod2' failed: KeyError: 'k' "
            "(got 'rivusio_broken_mod2:Error')"
        ),
    )


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"attempts": 0}, "attempts: must be >= 1 (got 0)"),
        ({"attempts": 2.0}, "attempts: must be an integer (got 2.0)"),
        ({"delay": -1}, "delay: must be >= 0 (got -1.0)"),
        ({"backoff": 0.5}, "backoff: must be >= 1 (got 0.5)"),
        ({"max_delay": -1}, "max_delay: must be >= 0 (got -1.0)"),
        (
            {"max_delay": "soon"},
            "max_delay: must be a number of seconds, a timedelta or None (got 'soon')",
        ),
        ({"jitter": -0.1}, "jitter: must be >= 0 and <= 1 (got -0.1)"),
        (
            {"jitter": 10},
            (
                "jitter: must be >= 0 and <= 1 (got 10.0); "
                "it is a fraction of the delay, e.g. 0.1 for up to 10% either way"
            ),
        ),
    ],
)
def test_bad_values(kwargs: dict[str, Any], problem: str) -> None:
    """Each out-of-range or mistyped value is named."""
    with pytest.raises(ConfigError) as caught:
        RetryConfig(**kwargs)
    assert caught.value.problems == (problem,)


def test_to_dict_writes_names() -> None:
    """to_dict writes retry_on as importable names and durations as seconds."""
    config = RetryConfig(
        attempts=3,
        delay=timedelta(seconds=1),
        max_delay=10,
        retry_on=(TimeoutError, json.decoder.JSONDecodeError, ConfigError),
    )
    assert config.to_dict() == {
        "attempts": 3,
        "delay": 1.0,
        "backoff": 2.0,
        "max_delay": 10.0,
        "jitter": 0.0,
        "retry_on": [
            "builtins.TimeoutError",
            "json.decoder.JSONDecodeError",
            f"{ConfigError.__module__}.ConfigError",
        ],
    }
    assert RetryConfig.from_dict(config.to_dict()) == config


def test_to_dict_refuses_a_local_exception_class() -> None:
    """An exception class that cannot be imported by name cannot be written."""

    class LocalError(Exception):
        pass

    with pytest.raises(ConfigError, match=r"define the exception class at module level$"):
        RetryConfig(retry_on=(LocalError,)).to_dict()


@given(retry_configs())
def test_round_trip(config: RetryConfig) -> None:
    """from_dict(to_dict()) gives back an equal config."""
    assert RetryConfig.from_dict(config.to_dict()) == config
