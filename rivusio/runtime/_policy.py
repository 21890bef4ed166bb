"""Error policies: what happens to an item whose processing failed.

The decision is written once, as a generator that *asks* for effects (sleep, call, deliver)
instead of performing them, so the same policy runs inline in a ``SyncStream`` (blocking
sleeps) and on the event loop (``anyio.sleep``).
"""

from __future__ import annotations

import inspect
import random
from collections.abc import Awaitable, Callable, Generator
from time import perf_counter
from typing import TYPE_CHECKING, Any

import anyio
import attrs
from anyio.abc import ObjectSendStream

from ..core.exceptions import ConfigError
from ..core.records import DeadLetter
from ._log import item_lost, retrying

if TYPE_CHECKING:
    from ..config import RetryConfig
    from ..core._types import DeadLetterSink
    from ._stats import StageStats


class StageFailure(Exception):
    """Raised inside the engine when a stage gives up on an item under ``on_error="raise"``.

    ``before`` holds the outputs that precede the failing item in stream order; the stage
    delivers them before the stream fails, so the consumer sees every output up to the
    failure whatever the chunking.
    """

    def __init__(self, stage: str, item: Any, error: BaseException) -> None:
        super().__init__(stage, item, error)
        self.stage = stage
        self.item = item
        self.error = error
        self.before: list[Any] = []


@attrs.frozen
class Sleep:
    """Effect: wait this many seconds."""

    seconds: float


@attrs.frozen
class Call:
    """Effect: call ``fn(*args)`` (awaiting the result when it is awaitable)."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]


@attrs.frozen
class Deliver:
    """Effect: hand a dead letter to the sink."""

    letter: DeadLetter


NO_RESULT: Any = object()
"""Returned by a recovery when the item produced no output (skipped or dead-lettered)."""


@attrs.frozen
class Policy:
    """The resolved error settings of one step: the innermost setting of each field wins."""

    on_error: str = "raise"
    dead_letter: DeadLetterSink | None = None
    retry: RetryConfig | None = None

    def under(self, on_error: Any, dead_letter: Any, retry: Any) -> Policy:
        """Return this policy overridden by the given inner settings (``None`` keeps ours)."""
        return Policy(
            on_error=on_error if on_error is not None else self.on_error,
            dead_letter=dead_letter if dead_letter is not None else self.dead_letter,
            retry=retry if retry is not None else self.retry,
        )

    def check(self, where: str) -> None:
        """Raise ``ConfigError`` if ``dead_letter`` is chosen without a sink."""
        if self.on_error == "dead_letter" and self.dead_letter is None:
            raise ConfigError(
                f"stage {where!r}: on_error='dead_letter' needs a sink; pass dead_letter= "
                f"(a callable, a list or an anyio send stream)"
            )


Recovery = Generator["Sleep | Call | Deliver", Any, Any]


def recover(
    *,
    stage: str,
    fn: Callable[[Any], Any],
    handler: Callable[[Exception, Any], Any] | None,
    policy: Policy,
    stats: StageStats,
    item: Any,
    error: Exception,
) -> Recovery:
    """Decide what becomes of *item*, whose processing by *fn* raised *error*.

    Retries first (``policy.retry``), then the pipe's ``handle_error``, then the error
    policy. Returns the output to emit, or :data:`NO_RESULT` when the item was skipped or
    dead-lettered.

    Raises:
        StageFailure: The policy is ``"raise"``.
    """
    stats.errors += 1
    retry = policy.retry
    attempt = 1
    while retry is not None and attempt < retry.attempts and retry.should_retry(error):
        yield Sleep(retry.delay_for(attempt, random.random()))
        stats.retries += 1
        attempt += 1
        retrying(stage, attempt, retry.attempts, error)
        try:
            return (yield Call(fn, (item,)))
        except Exception as again:
            error = again
    if handler is not None:
        try:
            return (yield Call(handler, (error, item)))
        except Exception as final:
            error = final
    if policy.on_error == "skip":
        stats.skipped += 1
        item_lost(stage, "skipped", item, error)
        return NO_RESULT
    if policy.on_error == "dead_letter":
        try:
            yield Deliver(DeadLetter(item=item, error=error, stage=stage))
        except Exception as sink_error:
            raise StageFailure(stage, item, sink_error) from sink_error
        stats.dead_lettered += 1
        item_lost(stage, "dead-lettered", item, error)
        return NO_RESULT
    raise StageFailure(stage, item, error)


async def process_group(
    *,
    stage: str,
    fn: Callable[[list[Any]], Awaitable[Any]],
    handler: Callable[[Exception, Any], Any] | None,
    policy: Policy,
    stats: StageStats,
    group: list[Any],
) -> Any:
    """Run *fn* over a whole batch or window under the error policy.

    The group is the item: retries, ``handle_error`` and the policy see it whole. The call
    is timed while a monitor watches the run.

    Returns:
        The result to emit, or :data:`NO_RESULT` when the group was skipped or
        dead-lettered.

    Raises:
        StageFailure: The policy is ``"raise"``.
    """
    started = perf_counter() if stats.timings is not None else 0.0
    try:
        return await fn(group)
    except Exception as error:
        recovery = recover(
            stage=stage,
            fn=fn,
            handler=handler,
            policy=policy,
            stats=stats,
            item=group,
            error=error,
        )
        return await drive(recovery, policy.dead_letter)
    finally:
        if stats.timings is not None:
            stats.observe(perf_counter() - started, len(group))


async def drive(recovery: Recovery, sink: DeadLetterSink | None) -> Any:
    """Run *recovery* on the event loop."""
    to_send: Any = None
    to_throw: Exception | None = None
    while True:
        try:
            effect = recovery.throw(to_throw) if to_throw else recovery.send(to_send)
        except StopIteration as done:
            return done.value
        to_send, to_throw = None, None
        if isinstance(effect, Sleep):
            await anyio.sleep(effect.seconds)
        elif isinstance(effect, Call):
            try:
                to_send = effect.fn(*effect.args)
                if inspect.isawaitable(to_send):
                    to_send = await to_send
            except Exception as exc:
                to_throw = exc
        else:
            try:
                await deliver(sink, effect.letter)
            except Exception as exc:
                to_throw = exc


def drive_blocking(recovery: Recovery, sink: DeadLetterSink | None) -> Any:
    """Run *recovery* in plain synchronous code (``SyncStream`` without an event loop)."""
    import time

    to_send: Any = None
    to_throw: Exception | None = None
    while True:
        try:
            effect = recovery.throw(to_throw) if to_throw else recovery.send(to_send)
        except StopIteration as done:
            return done.value
        to_send, to_throw = None, None
        if isinstance(effect, Sleep):
            time.sleep(effect.seconds)
        elif isinstance(effect, Call):
            try:
                to_send = effect.fn(*effect.args)
            except Exception as exc:
                to_throw = exc
        else:
            try:
                deliver_nowait(sink, effect.letter)
            except Exception as exc:
                to_throw = exc


async def deliver(sink: DeadLetterSink | None, letter: DeadLetter) -> None:
    """Hand *letter* to *sink*, waiting for room if the sink is a full send stream."""
    if isinstance(sink, ObjectSendStream):
        await sink.send(letter)
        return
    result = deliver_nowait(sink, letter, allow_awaitable=True)
    if inspect.isawaitable(result):
        await result


def deliver_nowait(
    sink: DeadLetterSink | None, letter: DeadLetter, *, allow_awaitable: bool = False
) -> Any:
    """Hand *letter* to *sink* without waiting."""
    if isinstance(sink, list):
        sink.append(letter)
        return None
    if isinstance(sink, ObjectSendStream):
        send_nowait = getattr(sink, "send_nowait", None)
        if send_nowait is None:
            raise TypeError(
                f"stage {letter.stage!r}: dead_letter stream {type(sink).__name__} cannot be "
                f"sent to without an event loop; use a list or a callable in a SyncStream"
            )
        send_nowait(letter)
        return None
    if sink is None:
        raise ValueError(
            f"stage {letter.stage!r}: on_error='dead_letter' needs a dead_letter sink"
        )
    result = sink(letter)
    if inspect.isawaitable(result) and not allow_awaitable:
        if inspect.iscoroutine(result):
            result.close()
        raise TypeError(
            f"stage {letter.stage!r}: the dead_letter callable is async, which a SyncStream "
            f"running without an event loop cannot await; pass a plain function or a list"
        )
    return result
