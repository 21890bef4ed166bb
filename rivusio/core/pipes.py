"""Pipes: the typed, per-item steps users write.

A pipe consumes ``InT`` and produces ``OutT``. Subclass :class:`AsyncBasePipe` and write
``async def process``, or :class:`SyncBasePipe` and write ``def process``. Compose pipes with
``>>``; run them on one value with ``await pipe(x)`` / ``pipe(x)`` or over a stream with
:class:`rivusio.AsyncStream` and :class:`rivusio.SyncStream`.

Pipes are attrs classes and both styles of subclass work::

    class Scale(SyncBasePipe[float, float]):          # plain class with its own __init__
        def __init__(self, factor: float) -> None:
            super().__init__()
            self.factor = factor

        def process(self, data: float) -> float:
            return data * self.factor

    @attrs.define
    class Offset(SyncBasePipe[float, float]):         # attrs class with fields
        offset: float

        def process(self, data: float) -> float:
            return data + self.offset
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, ClassVar, Generic, SupportsIndex, overload

import attrs

from ._types import DeadLetterSink, ErrorPolicy, InT, OutT, R

if TYPE_CHECKING:
    from ..config import RetryConfig
    from ..monitoring import PipelineMonitor
    from ..streams import StreamPipe, StreamPipeline
    from .pipeline import AsyncPipeline, SyncPipeline

__all__ = ("AsyncBasePipe", "BasePipe", "SyncBasePipe")

_POLICIES = ("raise", "skip", "dead_letter")


_UNSET_SETTINGS = frozenset({"on_error", "dead_letter", "retry", "monitor"})


def _slots_of(cls: type) -> tuple[str, ...]:
    names = (
        slot
        for klass in cls.__mro__
        for slot in getattr(klass, "__slots__", ())
        if slot not in ("__dict__", "__weakref__")
    )
    return tuple(dict.fromkeys(names))


def _restore_pipe(cls: type[Any], state: dict[str, Any]) -> Any:
    pipe = object.__new__(cls)
    for name, value in state.items():
        object.__setattr__(pipe, name, value)
    return pipe


def _default_name(pipe: BasePipe[Any, Any]) -> str:
    return type(pipe).__name__


def _check_policy(_pipe: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and value not in _POLICIES:
        raise ValueError(
            f"{attribute.name}: must be one of {', '.join(map(repr, _POLICIES))} or None "
            f"(got {value!r})"
        )


@attrs.define(eq=False)
class BasePipe(Generic[InT, OutT]):
    """Common base of every pipe, pipeline and stream stage.

    Every pipe takes these keyword-only settings; ``None`` means "inherit from the pipeline
    or stream this pipe runs in" (the innermost setting wins):

    Args:
        name: Shown in errors, metrics and task names. Defaults to the class name.
        on_error: ``"raise"``, ``"skip"`` or ``"dead_letter"``: what a stream does with an
            item whose processing failed after retries and :meth:`handle_error`.
        dead_letter: Where ``"dead_letter"`` sends :class:`rivusio.DeadLetter` records: a
            callable, a list, or an anyio send stream.
        retry: Retry failed items with backoff before giving up on them.
    """

    name: str = attrs.field(kw_only=True, default=attrs.Factory(_default_name, takes_self=True))
    on_error: ErrorPolicy | None = attrs.field(
        kw_only=True, default=None, validator=_check_policy, repr=False
    )
    dead_letter: DeadLetterSink | None = attrs.field(kw_only=True, default=None, repr=False)
    retry: RetryConfig | None = attrs.field(kw_only=True, default=None, repr=False)
    monitor: PipelineMonitor | None = attrs.field(kw_only=True, default=None, repr=False)

    #: True for pipes that run as their own stage with a stream of items (StreamPipe).
    is_stream_stage: ClassVar[bool] = False

    if not TYPE_CHECKING:  # at run time only, so that type checkers still catch typos

        def __getattr__(self, name: str) -> Any:
            # Only reached when normal lookup fails: a subclass whose own __init__ never called
            # super().__init__() (as rivusio 0.2.0's docs showed) still gets the defaults.
            if name == "name":
                return type(self).__name__
            if name in _UNSET_SETTINGS:
                return None
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        # attrs gives slotted classes a __getstate__ that knows only their fields, but a
        # plain subclass keeps its own attributes in __dict__: pickle both. The copy has no
        # monitor.
        state = {
            slot: getattr(self, slot)
            for slot in _slots_of(type(self))
            if slot in _UNSET_SETTINGS or slot == "name" or hasattr(self, slot)
        }
        state.update(getattr(self, "__dict__", {}))
        # A copy (in a worker process, say) cannot report to this process's monitor.
        state["monitor"] = None
        return (_restore_pipe, (type(self), state))

    def set_monitor(self, monitor: PipelineMonitor) -> None:
        """Record this pipe's metrics into *monitor* on every later run.

        Args:
            monitor: The monitor whose :meth:`~rivusio.monitoring.PipelineMonitor.get_metrics` will
                report this pipe's runs.
        """
        self.monitor = monitor

    def __str__(self) -> str:
        return self.name

    def __rshift__(self, other: BasePipe[OutT, R]) -> BasePipe[InT, R]:
        """Compose: ``a >> b`` feeds ``a``'s outputs into ``b``.

        Nested plain pipelines are flattened, so ``(a >> b) >> c`` has three pipes. The
        result is a :class:`~rivusio.SyncPipeline` when every pipe is sync, a
        :class:`~rivusio.AsyncPipeline` when any is async, and a
        :class:`~rivusio.streams.StreamPipeline` when any is a stream stage.

        Raises:
            TypeError: *other* is not a pipe.
        """
        from .pipeline import compose

        return compose(self, other)


def _check_process_kind(cls: type, want_async: bool, other_base: str) -> None:
    for method in ("process", "handle_error"):
        fn = cls.__dict__.get(method)
        if fn is None:
            continue
        if inspect.isasyncgenfunction(fn):
            raise TypeError(
                f"{cls.__qualname__}.{method}() is an async generator; per-item pipes return "
                f"one value per item. For a step that yields many outputs, subclass "
                f"rivusio.streams.StreamPipe and override process_stream()"
            )
        if inspect.iscoroutinefunction(fn) != want_async:
            kind = "a plain 'def'" if want_async else "an 'async def'"
            base = "AsyncBasePipe" if want_async else "SyncBasePipe"
            raise TypeError(
                f"{cls.__qualname__}.{method}() is {kind} method, but {cls.__qualname__} "
                f"subclasses {base}; subclass {other_base} instead (or make {method}() "
                f"{'async' if want_async else 'synchronous'})"
            )


@attrs.define(eq=False)
class AsyncBasePipe(BasePipe[InT, OutT]):
    """A per-item step written as ``async def process(self, data)``.

    ``await pipe(x)`` is ``await pipe.process(x)``. In a stream, consecutive per-item pipes
    run fused in one stage: no task switch or channel hop between them.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _check_process_kind(cls, want_async=True, other_base="SyncBasePipe")

    async def process(self, data: InT) -> OutT:
        """Transform one item. Subclasses override this.

        Args:
            data: The input item.

        Returns:
            The output item. ``None`` is delivered like any other value.
        """
        raise TypeError(f"{type(self).__qualname__} must override 'async def process(self, data)'")

    async def handle_error(self, error: Exception, data: InT) -> OutT:
        """Recover from a failed :meth:`process` call.

        Called after retries are exhausted. The returned value is emitted in place of the
        failed output. The default re-raises *error*, and the error policy (``on_error``)
        takes over.

        Args:
            error: What :meth:`process` raised.
            data: The input that failed.
        """
        raise error

    async def setup(self) -> None:
        """Acquire resources; runs once per run of a stream, before the first item."""

    async def teardown(self) -> None:
        """Release resources; runs once per run of a stream, also on error and cancellation."""

    async def __call__(self, data: InT) -> OutT:
        """Run :meth:`process` on one value."""
        return await self.process(data)

    if TYPE_CHECKING:

        @overload
        def __rshift__(self, other: StreamPipe[OutT, R]) -> StreamPipeline[InT, R]: ...
        @overload
        def __rshift__(self, other: AsyncBasePipe[OutT, R]) -> AsyncPipeline[InT, R]: ...
        @overload
        def __rshift__(self, other: SyncBasePipe[OutT, R]) -> AsyncPipeline[InT, R]: ...
        @overload
        def __rshift__(self, other: BasePipe[OutT, R]) -> BasePipe[InT, R]: ...
        def __rshift__(self, other: BasePipe[OutT, R]) -> BasePipe[InT, R]: ...


@attrs.define(eq=False)
class SyncBasePipe(BasePipe[InT, OutT]):
    """A per-item step written as ``def process(self, data)``.

    ``pipe(x)`` is ``pipe.process(x)``. Sync pipes in a :class:`~rivusio.SyncStream` run
    inline, with no event loop; in an :class:`~rivusio.AsyncStream` they run fused with the
    per-item pipes around them. ``process`` must not block for long: offload blocking work
    with ``rivusio.streams.map(pipe, offload="thread")``.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _check_process_kind(cls, want_async=False, other_base="AsyncBasePipe")

    def process(self, data: InT) -> OutT:
        """Transform one item. Subclasses override this.

        Args:
            data: The input item.

        Returns:
            The output item. ``None`` is delivered like any other value.
        """
        raise TypeError(f"{type(self).__qualname__} must override 'def process(self, data)'")

    def handle_error(self, error: Exception, data: InT) -> OutT:
        """Recover from a failed :meth:`process` call.

        Called after retries are exhausted. The returned value is emitted in place of the
        failed output. The default re-raises *error*, and the error policy (``on_error``)
        takes over.

        Args:
            error: What :meth:`process` raised.
            data: The input that failed.
        """
        raise error

    def setup(self) -> None:
        """Acquire resources; runs once per run of a stream, before the first item."""

    def teardown(self) -> None:
        """Release resources; runs once per run of a stream, also on error and cancellation."""

    def __call__(self, data: InT) -> OutT:
        """Run :meth:`process` on one value."""
        return self.process(data)

    if TYPE_CHECKING:

        @overload
        def __rshift__(self, other: StreamPipe[OutT, R]) -> StreamPipeline[InT, R]: ...
        @overload
        def __rshift__(self, other: SyncBasePipe[OutT, R]) -> SyncPipeline[InT, R]: ...
        @overload
        def __rshift__(self, other: AsyncBasePipe[OutT, R]) -> AsyncPipeline[InT, R]: ...
        @overload
        def __rshift__(self, other: BasePipe[OutT, R]) -> BasePipe[InT, R]: ...
        def __rshift__(self, other: BasePipe[OutT, R]) -> BasePipe[InT, R]: ...
