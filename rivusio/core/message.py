"""Messages: a value travelling with its metadata (rivusio 0.2.0's ``Message`` API).

A pipe may pass plain values or wrap them in a :class:`Message` to carry context (where
the value came from, an id to correlate it with others, headers) through a pipeline::

    message = Message(value={"temperature": 22.5}, metadata=MessageMetadata(source="sensor_1"))
    message.metadata.source        # "sensor_1"
    message.metadata.message_id    # a fresh UUID string, different for every message

Both classes are frozen attrs classes: build a changed copy with :func:`attrs.evolve`
(``attrs.evolve(message, value=new_value)``) and turn one into plain data with
:func:`attrs.asdict`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Generic

import attrs

from ._types import T

__all__ = ("Message", "MessageMetadata")


def _new_id() -> str:
    return str(uuid.uuid4())


def _copy_headers(headers: Mapping[str, Any]) -> dict[str, Any]:
    return dict(headers)


def _to_metadata(
    value: MessageMetadata | Mapping[str, Any] | None,
) -> MessageMetadata | dict[str, Any] | None:
    # A mapping is copied so that the frozen message does not share it with the caller.
    if value is None or isinstance(value, MessageMetadata):
        return value
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(
        f"Message.metadata: expected a MessageMetadata, a mapping or None, "
        f"got {type(value).__name__} ({value!r})"
    )


@attrs.frozen(kw_only=True)
class MessageMetadata:
    """Where a message came from and how to correlate it; frozen.

    Every instance gets its own ``message_id`` and ``timestamp`` unless they are given.

    Args:
        timestamp: When the message was created; defaults to ``datetime.now()`` at
            construction (a naive local time, as in 0.2.0). Pass an aware
            ``datetime.now(timezone.utc)`` where time zones matter.
        source: Identifier of the producer (a sensor, a topic, a file), or ``None``.
        message_id: Unique id; defaults to a new UUID4 string.
        correlation_id: Id shared by related messages, or ``None``.
        headers: Free-form key/value pairs; a copy of the mapping given.

    Example::

        a, b = MessageMetadata(source="s"), MessageMetadata(source="s")
        assert a.message_id != b.message_id

    .. versionchanged:: 1.0
        An attrs class. Each instance gets its own ``message_id`` and ``timestamp``;
        rivusio 0.2.0 computed both once, at import, and gave every message the same.
        Unknown keyword arguments raise ``TypeError`` (0.2.0 ignored them).
    """

    timestamp: datetime = attrs.field(factory=datetime.now)
    source: str | None = None
    message_id: str = attrs.field(factory=_new_id)
    correlation_id: str | None = None
    headers: dict[str, Any] = attrs.field(factory=dict, converter=_copy_headers, hash=False)


@attrs.frozen(kw_only=True)
class Message(Generic[T]):
    """A value and its metadata, passed between pipes; frozen.

    Args:
        value: The data being processed; any type.
        metadata: A :class:`MessageMetadata`, a plain mapping (kept as a ``dict``, as
            rivusio 0.2.0 stored it), or ``None``. Defaults to a new
            :class:`MessageMetadata`, so every message has its own id and timestamp.

    Raises:
        TypeError: ``metadata`` is neither a ``MessageMetadata``, a mapping nor ``None``.

    Example::

        message = Message(value=[1, 2, 3])
        doubled = attrs.evolve(message, value=[2 * x for x in message.value])
        assert doubled.metadata == message.metadata

    .. versionchanged:: 1.0
        An attrs class, generic in the value type. ``metadata`` defaults to a fresh
        :class:`MessageMetadata` instead of ``None``, and accepts a ``MessageMetadata``
        (0.2.0 accepted only a dict).
    """

    value: T
    metadata: MessageMetadata | dict[str, Any] | None = attrs.field(
        factory=MessageMetadata, converter=_to_metadata
    )
