"""The runner: the only code in rivusio that starts tasks.

One run = one task group holding a source pump and one task per stage, linked by bounded
:class:`~._links.Link` channels. The runner never lets an exception escape into the task
group: each task records its failure and cancels the group, so the consumer gets exactly
one :class:`~rivusio.StreamError` (with any simultaneous failures attached) and never a
bare ``ExceptionGroup``. Teardown hooks run shielded from cancellation, on every path.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import itertools
import sys
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Generic

import anyio
import attrs

from ..core._types import T
from ..core.exceptions import StreamError
from ._links import Link
from ._log import stage_failed, stage_finished
from ._policy import StageFailure
from ._watch import finish, watch

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup

if TYPE_CHECKING:
    from ..config import BackpressureConfig
    from ._plan import Plan
    from ._stage import Stage

SOURCE = "source"
"""The stage name failures of the source are reported under."""
MONITOR = "monitor"
"""The stage name failures of a monitor are reported under."""


def _link_into(name: str, config: BackpressureConfig) -> Link[Any]:
    return Link(
        name,
        config.max_buffer_size,
        overflow=config.overflow,
        throttle_threshold=config.throttle_threshold,
        min_processing_time=config.min_processing_time,
    )


async def _call_hook(hook: Any, method: str) -> None:
    result = getattr(hook, method)()
    if inspect.isawaitable(result):
        await result


@attrs.define(eq=False)
class Runner(Generic[T]):
    """Runs a :class:`~._plan.Plan` over a source; the last link holds the results.

    Create it, start :meth:`run` in a task (the consumer's task group, or a hosted task for
    a bare ``async for``), and read :attr:`output`. :meth:`run` returns only after every
    stage has finished and every teardown has run.
    """

    plan: Plan
    source: Any
    links: list[Link[Any]] = attrs.field(init=False)
    failures: list[StreamError] = attrs.field(init=False, factory=list)
    interrupt: BaseException | None = attrs.field(init=False, default=None)
    done: anyio.Event = attrs.field(init=False, factory=anyio.Event)
    consumed: anyio.Event = attrs.field(init=False, factory=anyio.Event)
    """Set by the consumer once it has taken every output or stopped reading."""
    _scope: anyio.CancelScope = attrs.field(init=False, factory=anyio.CancelScope)
    _drain_scope: anyio.CancelScope = attrs.field(init=False, factory=anyio.CancelScope)
    # One scope per task, source first: a failing stage cancels only what feeds it.
    _task_scopes: list[anyio.CancelScope] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        default = self.plan.backpressure
        self.links = [
            _link_into(stage.name, stage.backpressure or default) for stage in self.plan.stages
        ]
        self.links.append(_link_into("consumer", default))
        self._task_scopes = [anyio.CancelScope() for _ in range(len(self.plan.stages) + 1)]
        for position, stage in enumerate(self.plan.stages, start=1):
            if getattr(stage, "own_inputs", False):
                self.links[position - 1].on_end = functools.partial(self._input_ended, position)

    @property
    def output(self) -> Link[T]:
        """The link the consumer reads results from."""
        return self.links[-1]

    def cancel(self) -> None:
        """Stop the run: every task is cancelled and torn down. Safe to call at any time."""
        self._scope.cancel()
        self._drain_scope.cancel()

    def error(self) -> StreamError:
        """The failure to raise to the consumer: the first, with the others attached."""
        first, *others = self.failures
        if not others:
            return first
        combined = StreamError(first.stage, first.error or first, item=first.item, others=others)
        combined.__cause__ = first.__cause__
        return combined

    async def run(self) -> None:
        """Run the plan to the end, or until cancelled or failed; never raises a failure."""
        plan = self.plan
        try:
            watches = watch(
                plan.pipes,
                plan.stages,
                self.links,
                plan.monitors,
                timed=plan.collect_metrics,
                now=anyio.current_time(),
            )
        except Exception as exc:
            # Nothing has started: close every link the stages would have closed.
            self._fail(0, MONITOR, exc)
            for link in self.links[:-1]:
                link.close_receiver()
                link.close_sender()
            self.output.close_sender()
            self.done.set()
            return
        try:
            with self._scope:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._pump, name=f"rivusio:{SOURCE}")
                    for index, stage in enumerate(self.plan.stages, start=1):
                        tg.start_soon(self._stage, index, stage, name=f"rivusio:{stage.name}")
            # The run lasts until the consumer has taken the last output, so that its time
            # (and the throughput monitors report) includes a slow consumer.
            self.output.close_sender()
            with self._drain_scope:
                await self.consumed.wait()
        except BaseExceptionGroup as group:
            # Stages catch Exception, so only KeyboardInterrupt, SystemExit and the like get
            # here. They are handed to the consumer, bare, instead of escaping from a task
            # the consumer may not own.
            self.interrupt = _first_leaf(group)
        finally:
            self.output.close_sender()
            try:
                # Monitors get the final figures before the consumer learns the run is over.
                finish(watches, anyio.current_time())
            except Exception as exc:
                self._fail(0, MONITOR, exc)
            finally:
                self.done.set()

    def _fail(self, position: int, stage: str, error: BaseException, item: Any = None) -> None:
        """Record a failure at *position* (0 = source) and stop everything that feeds it.

        What is downstream keeps running until it has drained the outputs that precede the
        failure, so the consumer receives them, in order, before the ``StreamError``.
        """
        failure = StreamError(stage, error, item=item)
        failure.__cause__ = error
        stage_failed(stage, error)
        self.failures.append(failure)
        self._stop_upstream(position)

    def _input_ended(self, position: int) -> None:
        """A stage with inputs of its own (merge, zip_latest) has drained its stream input.

        After a failure upstream, that is all it must deliver: its other inputs may never
        end, and would hold the StreamError back forever.
        """
        if self.failures:
            self._task_scopes[position].cancel()

    def _stop_upstream(self, position: int) -> None:
        """Cancel everything feeding *position*: it has stopped reading (``take(n)``)."""
        for scope in self._task_scopes[:position]:
            scope.cancel()

    async def _pump(self) -> None:
        link = self.links[0]
        try:
            with self._task_scopes[0]:
                try:
                    await _feed(self.source, link)
                except anyio.BrokenResourceError:
                    pass  # every stage downstream has stopped reading: nothing more is wanted
                except Exception as exc:
                    self._fail(0, SOURCE, exc)
            await _close_after_flush(link)
        finally:
            link.close_sender()

    async def _stage(self, position: int, stage: Stage) -> None:
        inbox, outbox = self.links[position - 1], self.links[position]
        started: list[Any] = []
        try:
            with self._task_scopes[position]:
                try:
                    for hook in stage.hooks:
                        try:
                            await _call_hook(hook, "setup")
                        except Exception as exc:
                            raise StageFailure(_hook_name(hook, stage), None, exc) from exc
                        started.append(hook)
                    await stage.run(inbox, outbox)
                    if inbox.receiver_closed:
                        self._stop_upstream(position)
                except anyio.BrokenResourceError as exc:
                    if not outbox.receiver_closed:
                        self._fail(position, stage.name, exc)
                    self._stop_upstream(position)
                except StageFailure as failure:
                    self._fail(position, failure.stage, failure.error, failure.item)
                except Exception as exc:
                    self._fail(position, stage.name, exc)
            inbox.close_receiver()
            await _close_after_flush(outbox)
        finally:
            inbox.close_receiver()
            outbox.close_sender()
            # Teardown must run even when the run is being cancelled, so it is shielded.
            with anyio.CancelScope(shield=True):
                for hook in reversed(started):
                    try:
                        await _call_hook(hook, "teardown")
                    except Exception as exc:
                        self._fail(position, _hook_name(hook, stage), exc)
            for stats in stage.stats():
                stage_finished(stats)


async def _read_chunk(items: Iterator[Any], size: int, link: Link[Any]) -> list[Any]:
    """Read up to *size* items; if the source raises, first send what it gave before."""
    chunk: list[Any] = []
    try:
        chunk.extend(itertools.islice(items, size))
    except Exception:
        await link.put_many(chunk)
        raise
    return chunk


def _hook_name(hook: Any, stage: Stage) -> str:
    return str(getattr(hook, "name", stage.name))


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


async def _close_after_flush(link: Link[Any]) -> None:
    """Deliver what the sender still holds, then close; just close if that cannot be done."""
    # A receiver that stopped reading does not want the pending items.
    with contextlib.suppress(anyio.BrokenResourceError):
        await link.aclose_sender()


async def _feed(source: Any, link: Link[Any]) -> None:
    """Send every item of *source* into *link*: chunked for sync iterables."""
    if hasattr(source, "__aiter__"):
        iterator: AsyncIterator[Any] = source.__aiter__()
        try:
            async for item in iterator:
                await link.put(item)
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()
        return
    if not isinstance(source, Iterable):
        raise TypeError(
            f"stream source must be an async iterable, an iterable or an anyio receive stream, "
            f"got {type(source).__name__}"
        )
    items = iter(source)
    size = link.chunk
    try:
        while chunk := await _read_chunk(items, size, link):
            await link.put_many(chunk)
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()
