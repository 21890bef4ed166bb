"""``WindowedStreamPipe``: count, time and session windows, in processing or event time."""

from __future__ import annotations

import inspect
import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, cast

import anyio
import attrs
from anyio.abc import ObjectSendStream

from ..core._types import InT, OutT
from ..core.exceptions import ConfigError
from ..runtime._policy import NO_RESULT, Policy, deliver, drive, process_group, recover
from ..runtime._stats import StageStats
from ._pipe import StreamPipe
from ._windowing import KeyedWindows, Window, WindowSpec, WindowStatistics

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Sequence

    from ..config import BackpressureConfig, RetryConfig
    from ..core._types import DeadLetterSink, ErrorPolicy
    from ..core.records import DeadLetter
    from ..monitoring import PipelineMonitor
    from ..runtime._links import Link
    from ..runtime._plan import Unit

__all__ = ("WindowResult", "WindowedStreamPipe")


@attrs.frozen
class WindowResult(Generic[OutT]):
    """One window's output with the window's bounds, emitted under ``with_metadata=True``.

    Attributes:
        key: The window's key (``None`` without ``key=``).
        start: Time windows: the window's start in seconds (inclusive), on the event loop
            clock in processing time and in the items' time (POSIX seconds for ``datetime``
            timestamps) in event time. Sessions: the first item's time. Count windows: the
            position of the window's first item among all items the stage received.
        end: Time windows: the end (exclusive). Sessions: the last item's time plus the gap.
            Count windows: one past the position of the window's last item.
        value: What :meth:`WindowedStreamPipe.process_window` returned for the window.

    .. versionadded:: 1.0
    """

    key: Hashable
    start: float
    end: float
    value: OutT


def _sink_problem(name: str, value: object) -> list[str]:
    if value is None or callable(value) or isinstance(value, (list, ObjectSendStream)):
        return []
    return [f"{name}: must be a callable, a list or an anyio send stream (got {value!r})"]


def _callable_problem(name: str, value: object, returns: str) -> list[str]:
    if value is None or callable(value):
        return []
    return [f"{name}: must be a callable that takes an item and returns {returns} (got {value!r})"]


@attrs.define(eq=False, init=False)
class WindowedStreamPipe(StreamPipe[InT, OutT]):
    """A stage that groups items into windows and calls :meth:`process_window` per window.

    The kind of window follows from the options:

    ============================================  ==========================================
    ``window_size=100``                           count tumbling: every 100 items
    ``window_size=100, slide=10``                 count sliding: the last 100, every 10 items
    ``window_size=timedelta(minutes=1)``          time tumbling: back-to-back 1-minute windows
    ``window_size=60.0, slide=10.0``              time sliding (hopping): 60 s, every 10 s
    ``session_gap=timedelta(seconds=30)``         session: items less than 30 s apart
    ============================================  ==========================================

    An ``int`` ``window_size`` counts items; a ``float`` (seconds) or a ``timedelta`` is a
    duration. Time windows use processing time (the event loop clock when an item reaches
    the stage) unless ``timestamp=`` gives each item's event time. Time windows lie on a grid
    that starts at the first item, or at ``align_to``.

    A time window closes on a timer when its end is reached (in event time: when the
    watermark reaches it), whether or not another item arrives: an idle source does not hold
    a window open. Each window's result is emitted as one output, in order of window end
    (then by key). Empty windows are skipped unless ``emit_empty=True``.

    In event time, the watermark is the largest timestamp seen minus ``allowed_lateness``,
    moved on with the clock while no items arrive (so an idle stream still closes its
    windows). An item whose windows have all closed is *late*: it joins no window, is counted
    (``late`` in the stage's metrics) and goes to ``on_late`` if given.

    With ``key=``, every key has its own windows, closing on their own; a key's state is
    dropped as soon as it holds no open window.

    Example::

        class Average(WindowedStreamPipe[float, float]):
            def __init__(self) -> None:
                super().__init__(timedelta(seconds=10))

            async def process_window(self, window: list[float]) -> float:
                return sum(window) / len(window)

        per_user = WindowedStreamPipe(
            window_size=60.0, key=lambda e: e["user"], timestamp=lambda e: e["time"],
            allowed_lateness=5.0, on_late=late_events, with_metadata=True,
        )

    When it blocks: the stage waits for input until the next window is due, and waits for
    room downstream when it emits. It holds only the items of open windows.

    At end of stream, every open window is processed and emitted (partial sliding windows
    only with ``emit_partial=True``). On error: an exception from :meth:`process_window`
    goes through the error policy with the window's items as the item (``retry``,
    :meth:`handle_error`, then ``on_error``); an exception from ``key`` or ``timestamp``
    goes through ``on_error`` with the input item. On failure or cancellation the open
    windows are dropped; no window is ever processed twice.

    Args:
        window_size: Items (``int``) or a duration (``float`` seconds or ``timedelta``).
            ``None`` only for session windows.
        slide: Start a new window every ``slide`` items (count windows) or seconds (time
            windows), up to ``window_size``; ``None`` means tumbling.
        session_gap: Session windows: seconds (or ``timedelta``) of silence that end a
            session. Use it without ``window_size``.
        timestamp: Event time: a callable returning an item's time as float seconds or as
            an aware ``datetime``. ``None``: processing time.
        allowed_lateness: Event time only: how far (seconds or ``timedelta``) the watermark
            trails the largest timestamp seen.
        key: A callable returning an item's key: one set of windows per key.
        align_to: Time windows: origin of the window grid, in float seconds on the clock in
            use (event time also takes an aware ``datetime``). ``None``: the first item.
        emit_empty: Time windows with ``window_size``: also emit windows with no items.
        emit_partial: Sliding windows: at end of stream, also emit the windows that are
            still open (they cover less than ``window_size``).
        on_late: Where late items go: a callable (sync or async), a list to append to, or an
            anyio send stream. ``None``: late items are only counted.
        with_metadata: Emit :class:`WindowResult` records (key, start, end, value) instead
            of bare values.
        config: Settings of this stage's input buffer (``None``: the stream's defaults).
        name: Shown in errors and metrics; defaults to the class name.
        on_error: ``"raise"``, ``"skip"`` or ``"dead_letter"``.
        dead_letter: Where ``"dead_letter"`` sends failed windows and items.
        retry: Retry a failed :meth:`process_window` call before the error policy applies.
        monitor: Record this stage's metrics into a monitor.

    Raises:
        ConfigError: The options are invalid; every bad option is listed, for example
            ``window_size: must be > 0 (got 0)``.

    .. versionadded:: 1.0
    """

    window_size: int | float | timedelta | None = attrs.field(kw_only=True, default=None)
    slide: int | float | timedelta | None = attrs.field(kw_only=True, default=None)
    session_gap: float | timedelta | None = attrs.field(kw_only=True, default=None)
    timestamp: Callable[[InT], float | datetime] | None = attrs.field(kw_only=True, default=None)
    allowed_lateness: float | timedelta = attrs.field(kw_only=True, default=0)
    key: Callable[[InT], Hashable] | None = attrs.field(kw_only=True, default=None)
    align_to: float | datetime | None = attrs.field(kw_only=True, default=None)
    emit_empty: bool = attrs.field(kw_only=True, default=False)
    emit_partial: bool = attrs.field(kw_only=True, default=False)
    on_late: Callable[[InT], Any] | list[Any] | ObjectSendStream[Any] | None = attrs.field(
        kw_only=True, default=None, repr=False
    )
    with_metadata: bool = attrs.field(kw_only=True, default=False)

    def __init__(
        self,
        window_size: float | timedelta | None = None,
        *,
        slide: float | timedelta | None = None,
        session_gap: float | timedelta | None = None,
        timestamp: Callable[[InT], float | datetime] | None = None,
        allowed_lateness: float | timedelta = 0,
        key: Callable[[InT], Hashable] | None = None,
        align_to: float | datetime | None = None,
        emit_empty: bool = False,
        emit_partial: bool = False,
        on_late: Callable[[InT], Any] | list[Any] | ObjectSendStream[Any] | None = None,
        with_metadata: bool = False,
        config: BackpressureConfig | None = None,
        name: str | None = None,
        on_error: ErrorPolicy | None = None,
        dead_letter: DeadLetterSink | None = None,
        retry: RetryConfig | None = None,
        monitor: PipelineMonitor | None = None,
    ) -> None:
        settings: dict[str, Any] = {} if name is None else {"name": name}
        self.__attrs_init__(
            window_size=window_size,
            slide=slide,
            session_gap=session_gap,
            timestamp=timestamp,
            allowed_lateness=allowed_lateness,
            key=key,
            align_to=align_to,
            emit_empty=emit_empty,
            emit_partial=emit_partial,
            on_late=on_late,
            with_metadata=with_metadata,
            config=config,
            on_error=on_error,
            dead_letter=dead_letter,
            retry=retry,
            monitor=monitor,
            **settings,
        )

    def __attrs_post_init__(self) -> None:
        self.window_spec()

    def window_spec(self) -> WindowSpec:
        """Return the validated window options of this pipe.

        Raises:
            ConfigError: The options are invalid; every bad option is listed.
        """
        problems: list[str] = []
        problems += _callable_problem("timestamp", self.timestamp, "float seconds or a datetime")
        problems += _callable_problem("key", self.key, "a hashable key")
        problems += _sink_problem("on_late", self.on_late)
        if not isinstance(self.with_metadata, bool):
            problems.append(f"with_metadata: must be True or False (got {self.with_metadata!r})")
        event_time = self.timestamp is not None
        count = isinstance(self.window_size, int) and not isinstance(self.window_size, bool)
        lateness = self.allowed_lateness
        if event_time and count:
            problems.append(
                "timestamp: count windows close on item counts, not on time (got a "
                "timestamp callable); use a float or timedelta window_size for event-time "
                "windows"
            )
            event_time = False
        if lateness and not event_time and not isinstance(lateness, bool):
            problems.append(
                f"allowed_lateness: only applies to event-time windows (got {lateness!r}); "
                f"pass timestamp= or leave it at 0"
            )
            lateness = 0
        if self.on_late is not None and not event_time:
            problems.append(
                "on_late: only event-time windows (timestamp=) have late items (got a sink)"
            )
        try:
            spec = WindowSpec(
                window_size=self.window_size,
                slide=self.slide,
                session_gap=self.session_gap,
                align_to=self.align_to,
                event_time=event_time,
                allowed_lateness=lateness,
                emit_empty=self.emit_empty,
                emit_partial=self.emit_partial,
            )
        except ConfigError as error:
            problems += error.problems
        if problems:
            raise ConfigError(problems)
        return spec

    async def process_window(self, window: list[InT]) -> OutT:
        """Process one closed window; its return value is emitted as one output.

        The default returns :meth:`aggregate_window` of the window.

        Args:
            window: The window's items in arrival order (empty only under
                ``emit_empty=True``). The list is the stage's own and is not used again.

        Returns:
            The output for this window.
        """
        return self.aggregate_window(window)

    def aggregate_window(self, window: list[InT]) -> OutT:
        """Reduce a window's items to one value; the default returns the list unchanged.

        A synchronous helper for :meth:`process_window`; override it for a plain
        aggregation (a sum, a count, an average).

        Args:
            window: The window's items.

        Returns:
            The aggregate.
        """
        return cast("OutT", window)

    # The window stage hands the failed window, not a single item, to handle_error, so the
    # parameter's type differs from StreamPipe's.
    async def handle_error(self, error: Exception, data: list[InT]) -> OutT:
        """Recover from a failed :meth:`process_window` call (default: re-raise).

        Called after retries are exhausted; the returned value is emitted in place of the
        window's output. The default re-raises *error* and ``on_error`` takes over.

        Args:
            error: What :meth:`process_window` raised.
            data: The items of the window that failed.
        """
        raise error

    def plan_units(self, policy: Policy) -> list[Unit]:
        """Describe this pipe to the planner: one window stage of its own."""
        policy.check(self.name)
        spec = self.window_spec()
        if not inspect.iscoroutinefunction(self.process_window):
            raise TypeError(
                f"stage {self.name!r}: process_window() must be an 'async def' method (got "
                f"{self.process_window!r}); write 'async def process_window(self, window)'"
            )
        if type(self).process_window is WindowedStreamPipe.process_window and (
            inspect.iscoroutinefunction(self.aggregate_window)
        ):
            raise TypeError(
                f"stage {self.name!r}: aggregate_window() must be a plain 'def' method; "
                f"make it synchronous, or override 'async def process_window()' and await it "
                f"there"
            )
        overrides = type(self).handle_error is not WindowedStreamPipe.handle_error
        return [
            _WindowStage(
                name=self.name,
                spec=spec,
                process=self.process_window,
                handler=self.handle_error if overrides else None,
                policy=policy,
                key=self.key,
                timestamp=self.timestamp,
                on_late=self.on_late,
                with_metadata=self.with_metadata,
                backpressure=self.config,
                hooks=(self,),
            )
        ]


def _event_seconds(stage: str, value: object) -> float:
    """Read a ``timestamp()`` result as float seconds."""
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise ValueError(
                f"stage {stage!r}: timestamp() returned a naive datetime ({value!r}); return "
                f"an aware datetime (for example with tzinfo=timezone.utc) or float seconds"
            )
        return value.timestamp()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
        if math.isfinite(seconds):
            return seconds
        raise ValueError(f"stage {stage!r}: timestamp() must be finite (got {value!r})")
    raise TypeError(
        f"stage {stage!r}: timestamp() must return float seconds or an aware datetime "
        f"(got {value!r})"
    )


@attrs.define(eq=False, kw_only=True)
class _WindowStage:
    """The task that runs a :class:`WindowedStreamPipe`, driving its :class:`KeyedWindows`."""

    name: str
    spec: WindowSpec
    process: Callable[[list[Any]], Any]
    handler: Callable[[Exception, Any], Any] | None
    policy: Policy
    key: Callable[[Any], Hashable] | None
    timestamp: Callable[[Any], object] | None
    on_late: Callable[[Any], Any] | list[Any] | ObjectSendStream[Any] | None
    with_metadata: bool
    backpressure: BackpressureConfig | None
    hooks: tuple[Any, ...]
    drop_short: int = 0
    """Windows with fewer items are not emitted (``sliding_window(n, n)`` of rivusio 0.2.0
    gives only full windows)."""
    uses_timers: bool = attrs.field(init=False)
    _windows: KeyedWindows[Any] = attrs.field(init=False)
    _stats: StageStats = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.uses_timers = self.spec.kind not in ("count_tumbling", "count_sliding")
        self._windows = KeyedWindows.for_spec(self.spec)
        self._stats = StageStats(self.name)

    def stats(self) -> list[StageStats]:
        return [self._stats]

    def statistics(self) -> WindowStatistics:
        """What the stage's windows hold right now."""
        return self._windows.statistics()

    async def run(self, inbox: Link[Any], outbox: Link[Any]) -> None:
        windows = self._windows
        stats = self._stats
        extract = self._extract
        on_item = windows.on_item
        plain = self.key is None and self.timestamp is None
        # The clock as the stage last saw it. The window logic needs a clock that never
        # goes back, and a timer that fired a hair before its deadline (float rounding)
        # must still close the window it was set for, or the loop would spin.
        now = -math.inf
        while True:
            deadline = windows.next_deadline()
            if deadline is None:
                try:
                    chunk = await inbox.get()
                except anyio.EndOfStream:
                    break
            else:
                now = max(now, anyio.current_time())
                if now >= deadline:
                    # Due while the stage was busy emitting.
                    await self._emit(windows.on_time(now), outbox)
                    continue
                with anyio.CancelScope(deadline=deadline) as timer:
                    try:
                        chunk = await inbox.get()
                    except anyio.EndOfStream:
                        break
                if timer.cancelled_caught:
                    # Only the deadline cancelled the receive; links are cancel-safe, so
                    # nothing was lost, and the due windows close now, source idle or not.
                    now = max(now, deadline)
                    await self._emit(windows.on_time(now), outbox)
                    continue
            stats.items_in += len(chunk)
            # Every item of a chunk arrived together: one arrival time for all of them.
            now = max(now, anyio.current_time())
            if plain:
                # No key or event time to read, and without event time nothing is late:
                # one call into the window logic per item.
                for item in chunk:
                    closed = on_item(item, now=now).closed
                    if closed:
                        await self._emit(closed, outbox)
                continue
            for item in chunk:
                try:
                    key, ts = extract(item)
                except Exception as error:
                    await self._skip_unreadable(item, error)
                    continue
                outcome = on_item(item, now=now, key=key, ts=ts)
                if outcome.closed:
                    await self._emit(outcome.closed, outbox)
                if outcome.late:
                    stats.late += 1
                    if self.on_late is not None:
                        # deliver() hands its argument to the sink as is; late items go
                        # there unchanged rather than wrapped in a DeadLetter.
                        await deliver(self.on_late, cast("DeadLetter", item))
        # End of stream: flush() forgets every window before any is processed, so nothing
        # can be flushed twice, even if processing one of them fails.
        await self._emit(windows.flush(), outbox)

    def _extract(self, item: Any) -> tuple[Hashable, float | None]:
        """Return the item's key and event time (``None`` in processing time)."""
        key = None if self.key is None else self.key(item)
        if self.timestamp is None:
            return key, None
        return key, _event_seconds(self.name, self.timestamp(item))

    async def _skip_unreadable(self, item: Any, error: Exception) -> None:
        """Apply ``on_error`` to an item whose key or timestamp could not be read.

        Raises:
            StageFailure: The policy is ``"raise"``.
        """
        # Reading a key or a timestamp again would fail again: no retry and no handler, so
        # the item is skipped, dead-lettered, or fails the stage.
        policy = Policy(on_error=self.policy.on_error, dead_letter=self.policy.dead_letter)
        recovery = recover(
            stage=self.name,
            fn=self._extract,
            handler=None,
            policy=policy,
            stats=self._stats,
            item=item,
            error=error,
        )
        await drive(recovery, policy.dead_letter)

    async def _emit(self, closed: Sequence[Window[Any]], outbox: Link[Any]) -> None:
        """Process each closed window in order and send its result."""
        stats = self._stats
        for window in closed:
            items = window.items
            if len(items) < self.drop_short:
                continue
            value = await process_group(
                stage=self.name,
                fn=self.process,
                handler=self.handler,
                policy=self.policy,
                stats=stats,
                group=items,
            )
            if value is NO_RESULT:
                continue
            if self.with_metadata:
                value = WindowResult(window.key, window.start, window.end, value)
            stats.items_out += 1
            await outbox.put(value)
