"""Backpressure settings for a stage's input channel."""

from typing import Literal

import attrs

from rivusio.config import _checks
from rivusio.config._base import ConfigBase

OverflowPolicy = Literal["block", "drop_oldest", "drop_newest", "error"]
"""What a full stage does with one more item: ``"block"`` the sender until there is room,
``"drop_oldest"`` or ``"drop_newest"`` (counted as ``dropped``), or ``"error"``."""

OVERFLOW_POLICIES: tuple[OverflowPolicy, ...] = ("block", "drop_oldest", "drop_newest", "error")


@attrs.frozen(kw_only=True)
class BackpressureConfig(ConfigBase):
    """How much a stage buffers, and what happens when it fills up.

    Every stage reads its input from a bounded channel of ``max_buffer_size`` items. A
    sender to a full stage waits (``overflow="block"``), so a slow consumer slows the
    source down instead of letting memory grow. Nothing is dropped unless ``overflow``
    says so, and every drop is counted in the ``dropped`` metric.

    From ``throttle_threshold`` full on, the stage counts as under pressure and each
    upstream send is paced by ``min_processing_time`` seconds, until the fill falls below
    the threshold again.

    Example::

        config = BackpressureConfig(max_buffer_size=100, overflow="drop_oldest")
        assert config.throttle_threshold == 0.8

    Attributes:
        max_buffer_size: Capacity of the input channel in items, ``>= 0``. ``0`` makes
            every send wait for the stage to receive it.
        throttle_threshold: Fraction of the buffer, in ``(0, 1]``, from which the stage
            counts as under pressure.
        min_processing_time: Seconds, ``>= 0``, by which each send is paced while under
            pressure. A :class:`~datetime.timedelta` is accepted and stored as float
            seconds.
        overflow: ``"block"`` (default), ``"drop_oldest"``, ``"drop_newest"`` or
            ``"error"`` (the send fails with an error naming the stage).

    Raises:
        ConfigError: A value is of the wrong type or out of range; every bad field is
            listed, e.g. ``max_buffer_size: must be >= 0 (got -1)``.

    .. versionadded:: 1.0
        ``overflow``; attrs-based, loadable with ``from_dict`` and ``from_toml``.
    """

    max_buffer_size: int = attrs.field(default=1000, validator=_checks.integer(minimum=0))
    throttle_threshold: float = attrs.field(
        default=0.8,
        converter=_checks.to_float,
        validator=_checks.number(
            above=0, maximum=1, hint="it is a fraction of max_buffer_size, e.g. 0.8 for 80%"
        ),
    )
    min_processing_time: float = attrs.field(
        default=0.0, converter=_checks.to_seconds, validator=_checks.duration()
    )
    overflow: OverflowPolicy = attrs.field(
        default="block", validator=_checks.choice(OVERFLOW_POLICIES)
    )
