"""rivusio's log records: the ``rivusio`` logger, with the stage name on every record.

Every record carries ``record.stage`` (the stage's name, as in ``StreamError.stage`` and
metric keys), so a formatter can show it with ``%(stage)s``. rivusio adds a
``NullHandler`` to its logger, as a library should: nothing is printed unless the
application configures logging.

Levels: DEBUG for stage lifecycle and retries, INFO when a stage failure stops a stream,
WARNING for every item that was skipped or dead-lettered.
"""

from __future__ import annotations

import logging
import reprlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._stats import StageStats

logger = logging.getLogger("rivusio")
logger.addHandler(logging.NullHandler())

_short = reprlib.Repr()
_short.maxstring = 80
_short.maxother = 80


def short_repr(item: Any) -> str:
    """A repr of *item* short enough for a log line."""
    return _short.repr(item)


def item_lost(stage: str, action: str, item: Any, error: BaseException) -> None:
    """Log that *item* was skipped or dead-lettered (*action*) after *error*."""
    logger.warning(
        "stage %r: %s item %s after %s: %s",
        stage,
        action,
        short_repr(item),
        type(error).__name__,
        error,
        extra={"stage": stage},
    )


def retrying(stage: str, attempt: int, attempts: int, error: BaseException) -> None:
    """Log that a failed item is about to be tried again."""
    logger.debug(
        "stage %r: retrying an item (try %d of %d) after %s: %s",
        stage,
        attempt,
        attempts,
        type(error).__name__,
        error,
        extra={"stage": stage},
    )


def stage_failed(stage: str, error: BaseException) -> None:
    """Log that *stage* failed and the stream stops."""
    logger.info(
        "stage %r failed, stopping the stream: %s: %s",
        stage,
        type(error).__name__,
        error,
        extra={"stage": stage},
    )


def stage_finished(stats: StageStats) -> None:
    """Log a stage's counters when its task ends."""
    logger.debug(
        "stage %r finished: %d in, %d out, %d errors, %d skipped, %d dead-lettered",
        stats.name,
        stats.items_in,
        stats.items_out,
        stats.errors,
        stats.skipped,
        stats.dead_lettered,
        extra={"stage": stats.name},
    )
