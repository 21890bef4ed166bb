"""Records that rivusio hands to user code."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ("DeadLetter",)


@attrs.frozen
class DeadLetter:
    """An item that failed, as delivered to a dead-letter sink.

    Attributes:
        item: The input that failed (the input of the pipe that raised).
        error: The last exception raised for it, after retries and ``handle_error``.
        stage: Name of the pipe or stage that failed.
    """

    item: Any
    error: BaseException
    stage: str
