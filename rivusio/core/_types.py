"""Type variables and small aliases shared across rivusio."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

from anyio.abc import ObjectSendStream

InT = TypeVar("InT", contravariant=True)
"""What a pipe consumes (contravariant: a pipe of ``object`` accepts ``int``)."""
OutT = TypeVar("OutT", covariant=True)
"""What a pipe produces (covariant: a pipe producing ``bool`` produces ``int``)."""
R = TypeVar("R")
"""What the pipe after this one produces."""
T = TypeVar("T")
"""Any item type."""

# rivusio 0.2.0 exported these from the package; kept so that its code imports unchanged.
InputType = TypeVar("InputType", contravariant=True)
"""rivusio 0.2.0's name for what a pipe consumes."""
OutputType = TypeVar("OutputType", covariant=True)
"""rivusio 0.2.0's name for what a pipe produces."""
BatchT = TypeVar("BatchT", bound=Sequence[Any])
"""rivusio 0.2.0's type variable for a batch of items."""

ErrorPolicy = Literal["raise", "skip", "dead_letter"]
"""What a stage does with an item whose processing failed: stop the stream, drop and count
it, or send it to the dead-letter sink."""

DeadLetterSink = Callable[[Any], Any] | list[Any] | ObjectSendStream[Any]
"""Where dead letters go: a callable (sync or async), a list to append to, or an anyio send
stream."""
