"""Stream-wide settings, compatible with rivusio 0.2.0's ``StreamConfig``."""

from datetime import timedelta
from typing import Any, get_args

import attrs

from rivusio.config import _checks
from rivusio.config._base import ConfigBase
from rivusio.config.backpressure import BackpressureConfig
from rivusio.config.retry import RetryConfig
from rivusio.core._types import DeadLetterSink, ErrorPolicy

ERROR_POLICIES: tuple[str, ...] = get_args(ErrorPolicy)


def _sink_repr(sink: Any) -> str:
    # A dead-letter list can grow large; a config's repr shows its size, not its items.
    if isinstance(sink, list):
        return f"<list of {len(sink)} items>"
    return repr(sink)


@attrs.frozen(kw_only=True)
class StreamConfig(ConfigBase):
    """Settings for a whole stream: error policy, retries, buffers, and 0.2.0 options.

    Pass it as ``AsyncStream(source, config=...)`` or ``SyncStream(source, config=...)``.
    Every field is keyword-only, as with 0.2.0's pydantic model::

        config = StreamConfig(name="sensors", on_error="skip", retry=RetryConfig(attempts=3))

    Error settings here are the outermost: a pipe's own ``on_error``/``dead_letter``/
    ``retry``, or those given to ``.through(...)``, win over them.

    Attributes:
        name: Name of the stream, used in logs and metrics; ``None`` for none.
        retry_attempts: rivusio 0.2.0's retry count, ``>= 0``: the number of tries in
            total, as 0.2.0 ran them. ``0`` and ``1`` both mean "try once" (0.2.0 failed
            every item when it was ``0``). Used only when ``retry`` is ``None``; see
            :meth:`effective_retry`.
        retry_delay: 0.2.0's seconds before the first retry, ``>= 0`` (a
            :class:`~datetime.timedelta` is accepted and stored as float seconds).
        retry_backoff: 0.2.0's factor, ``>= 1``, by which each further delay grows.
            0.2.0 declared it but waited ``retry_delay * n`` before retry ``n``;
            rivusio applies it, which gives the same waits for the default three tries.
        timeout: 0.2.0's operation timeout in seconds (``> 0``), or ``None``. 0.2.0
            declared it without enforcing it; it is kept so that 0.2.0 configs load.
        batch_size: Items per batch for 0.2.0's ``AsyncStream.process``/
            ``SyncStream.process``, ``>= 1``; above 1 the pipe receives lists of up to
            this many items.
        window_size: Time window for 0.2.0's ``process`` when no batch size is set,
            ``>= 0``; ``0`` means no windowing. Seconds are accepted; the value is
            stored as a :class:`~datetime.timedelta`, as in 0.2.0.
        buffer_size: Capacity in items, ``>= 1``, of each stage's input channel when
            ``backpressure`` is ``None``; see :meth:`effective_backpressure`.
        collect_metrics: Whether the stream collects metrics.
        skip_none: Drop ``None`` results instead of delivering them. Default ``False``:
            ``None`` is delivered like any other value.
        on_error: ``"raise"`` (stop the stream with ``StreamError``), ``"skip"`` (drop
            and count the item) or ``"dead_letter"`` (send a ``DeadLetter`` to
            ``dead_letter``); ``None`` leaves the choice to the stages, whose default
            is ``"raise"``.
        dead_letter: Where dead letters go: a callable, a list to append to, or an anyio
            object send stream. It is not serialised: :meth:`to_dict` leaves it out and
            a loaded config has ``None`` unless the mapping held a sink object.
        retry: Retry settings for every stage, or ``None`` to use the 0.2.0 fields.
        backpressure: Buffer settings for every stage's input channel, or ``None`` to
            use ``buffer_size``.

    Raises:
        ConfigError: A value is of the wrong type or out of range; every bad field is
            listed, nested ones with their path (``backpressure.max_buffer_size: ...``).

    .. versionchanged:: 1.0
        An attrs class instead of a pydantic model. ``skip_none`` defaults to
        ``False``; ``retry_attempts=0`` means "try once"; ``retry_backoff`` is applied.
        New fields ``on_error``, ``dead_letter``, ``retry`` and ``backpressure``.
    """

    name: str | None = attrs.field(default=None, validator=_checks.text(optional=True))
    retry_attempts: int = attrs.field(default=3, validator=_checks.integer(minimum=0))
    retry_delay: float = attrs.field(
        default=1.0, converter=_checks.to_seconds, validator=_checks.duration()
    )
    retry_backoff: float = attrs.field(
        default=2.0, converter=_checks.to_float, validator=_checks.number(minimum=1)
    )
    timeout: float | None = attrs.field(
        default=30.0,
        converter=_checks.to_optional_seconds,
        validator=_checks.duration(positive=True, optional=True),
    )
    batch_size: int = attrs.field(default=1, validator=_checks.integer(minimum=1))
    window_size: timedelta = attrs.field(
        default=timedelta(0), converter=_checks.to_timedelta, validator=_checks.window()
    )
    buffer_size: int = attrs.field(default=1000, validator=_checks.integer(minimum=1))
    collect_metrics: bool = attrs.field(default=True, validator=_checks.boolean())
    skip_none: bool = attrs.field(default=False, validator=_checks.boolean())
    on_error: ErrorPolicy | None = attrs.field(
        default=None, validator=_checks.choice(ERROR_POLICIES, optional=True)
    )
    dead_letter: DeadLetterSink | None = attrs.field(
        default=None,
        validator=_checks.sink(),
        hash=False,
        repr=_sink_repr,
        metadata={_checks.NOT_SERIALISED: True},
    )
    retry: RetryConfig | None = attrs.field(default=None, validator=_checks.nested(RetryConfig))
    backpressure: BackpressureConfig | None = attrs.field(
        default=None, validator=_checks.nested(BackpressureConfig)
    )

    def effective_retry(self) -> RetryConfig | None:
        """Return the retry settings this config asks for, or ``None`` for no retry.

        ``retry`` wins when set. Otherwise the 0.2.0 fields map to
        ``RetryConfig(attempts=retry_attempts, delay=retry_delay, backoff=retry_backoff)``,
        and ``retry_attempts`` of ``0`` or ``1`` means no retry.

        Returns:
            ``retry``, the mapped 0.2.0 settings, or ``None``.
        """
        if self.retry is not None:
            return self.retry
        if self.retry_attempts <= 1:
            return None
        return RetryConfig(
            attempts=self.retry_attempts, delay=self.retry_delay, backoff=self.retry_backoff
        )

    def effective_backpressure(self) -> BackpressureConfig:
        """Return the buffer settings for each stage's input channel.

        Returns:
            ``backpressure`` when set, else ``BackpressureConfig(max_buffer_size=buffer_size)``.
        """
        if self.backpressure is not None:
            return self.backpressure
        return BackpressureConfig(max_buffer_size=self.buffer_size)
