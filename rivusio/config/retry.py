"""Retry settings: how often and how patiently a failed item is tried again."""

import math

import attrs

from rivusio.config import _checks, _names
from rivusio.config._base import ConfigBase


def _write_names(classes: tuple[type[Exception], ...]) -> list[str]:
    return [_names.exception_name(cls) for cls in classes]


@attrs.frozen(kw_only=True)
class RetryConfig(ConfigBase):
    """How a stage retries an item whose processing raised.

    ``attempts`` counts tries in total: the default ``1`` means no retry. Before retry
    number ``n`` (``n = 1`` is the first retry) the stage sleeps :meth:`delay_for`
    seconds: ``delay * backoff ** (n - 1)``, capped at ``max_delay``, then spread by
    ``jitter``. Only errors that are instances of ``retry_on`` are retried; anything
    else goes straight to the error policy. :class:`KeyboardInterrupt`,
    :class:`SystemExit` and cancellation are never retried.

    Example::

        retry = RetryConfig(attempts=3, delay=0.5, retry_on=(TimeoutError,))
        assert [retry.delay_for(n, 0.5) for n in (1, 2)] == [0.5, 1.0]

    In a dict or a TOML file, ``retry_on`` is a list of names, e.g.
    ``["builtins.TimeoutError", "mypkg.errors:Busy"]``.

    Attributes:
        attempts: Tries in total, ``>= 1``.
        delay: Seconds before the first retry, ``>= 0``. A
            :class:`~datetime.timedelta` is accepted and stored as float seconds.
        backoff: Factor, ``>= 1``, by which each further delay grows.
        max_delay: Upper bound in seconds for the computed delay (before jitter), or
            ``None`` for no bound. Accepts a timedelta like ``delay``.
        jitter: Fraction in ``[0, 1]``: each delay is moved by up to ``jitter`` times
            itself, up or down, so that many failing items do not retry in lockstep.
        retry_on: Exception classes (subclasses of :class:`Exception`) that are retried.
            One class, a list, or names (``"module.Name"``, ``"module:Name"``, or a
            builtin such as ``"TimeoutError"``) are accepted and stored as a tuple of
            classes.

    Raises:
        ConfigError: A value is of the wrong type or out of range, or a name does not
            resolve to an exception class; every bad field is listed.

    .. versionadded:: 1.0
    """

    attempts: int = attrs.field(default=1, validator=_checks.integer(minimum=1))
    delay: float = attrs.field(
        default=0.0, converter=_checks.to_seconds, validator=_checks.duration()
    )
    backoff: float = attrs.field(
        default=2.0, converter=_checks.to_float, validator=_checks.number(minimum=1)
    )
    max_delay: float | None = attrs.field(
        default=None,
        converter=_checks.to_optional_seconds,
        validator=_checks.duration(optional=True),
    )
    jitter: float = attrs.field(
        default=0.0,
        converter=_checks.to_float,
        validator=_checks.number(
            minimum=0,
            maximum=1,
            hint="it is a fraction of the delay, e.g. 0.1 for up to 10% either way",
        ),
    )
    retry_on: tuple[type[Exception], ...] = attrs.field(
        default=(Exception,),
        converter=_checks.to_exception_classes,
        validator=_checks.exception_classes(),
        metadata={_checks.WRITE: _write_names},
    )

    def delay_for(self, attempt: int, rand: float) -> float:
        """Return the seconds to wait before retry number ``attempt``.

        The delay is ``d = min(max_delay, delay * backoff ** (attempt - 1))``, moved by
        ``jitter * d * (2 * rand - 1)``; it is never negative. The function is pure:
        pass ``random.random()`` as ``rand`` to jitter, or a fixed value in tests.

        Args:
            attempt: The retry about to happen; ``1`` is the first retry (the second try).
            rand: A number in ``[0, 1]``; ``0.5`` means no jitter.

        Returns:
            Seconds to sleep, ``math.inf`` only if the delay grows without bound and
            ``max_delay`` is ``None``.

        Raises:
            ValueError: ``attempt < 1`` or ``rand`` outside ``[0, 1]``.
        """
        if attempt < 1:
            raise ValueError(f"attempt: must be >= 1 (got {attempt!r})")
        if not 0 <= rand <= 1:
            raise ValueError(f"rand: must be >= 0 and <= 1 (got {rand!r})")
        if self.delay == 0:
            return 0.0
        try:
            base = self.delay * self.backoff ** (attempt - 1)
        except OverflowError:
            base = math.inf
        if self.max_delay is not None:
            base = min(base, self.max_delay)
        if math.isinf(base):
            return base
        return max(0.0, base + self.jitter * base * (2 * rand - 1))

    def should_retry(self, exc: BaseException) -> bool:
        """Tell whether ``exc`` is one of the ``retry_on`` classes.

        Whether tries are left is up to the caller, which counts them against
        ``attempts``.

        Args:
            exc: The exception that the failed try raised.

        Returns:
            ``True`` if ``exc`` is an instance of a ``retry_on`` class.
        """
        return isinstance(exc, self.retry_on)
