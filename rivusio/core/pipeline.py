"""Pipelines: pipes composed with ``>>``.

``a >> b`` is a pipeline, and a pipeline is a pipe: ``await (a >> b)(x)`` runs both on one
value, and ``AsyncStream(source).through(a >> b)`` runs them over a stream, fused into one
stage.
"""

from __future__ import annotations

import collections
import inspect
from typing import TYPE_CHECKING, Any, cast, overload

import attrs

from ._types import InT, OutT, R
from .exceptions import PipelineError
from .pipes import AsyncBasePipe, BasePipe, SyncBasePipe

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from types import TracebackType

    from ..config import ExecutionStrategy, ParallelConfig
    from ..streams import StreamPipe, StreamPipeline

__all__ = ("AsyncPipeline", "SyncPipeline", "compose")

DEFAULT_KEPT_OUTPUTS = 100


def _is_plain_pipeline(pipe: BasePipe[Any, Any]) -> bool:
    """A pipeline that carries no settings of its own can be flattened into its parent."""
    pipes = getattr(pipe, "pipes", None)
    return (
        pipes is not None
        and type(pipe) in _pipeline_types()
        and pipe.on_error is None
        and pipe.dead_letter is None
        and pipe.retry is None
    )


def _pipeline_types() -> tuple[type, ...]:
    from ..streams import StreamPipeline

    return (SyncPipeline, AsyncPipeline, StreamPipeline)


def compose(*pipes: BasePipe[Any, Any]) -> BasePipe[Any, Any]:
    """Chain *pipes* into one pipeline, flattening plain nested pipelines.

    Returns:
        A :class:`SyncPipeline` when every pipe is sync, a :class:`AsyncPipeline` when any
        is async, a :class:`rivusio.streams.StreamPipeline` when any is a stream stage.

    Raises:
        TypeError: An operand is not a pipe.
    """
    flat: list[BasePipe[Any, Any]] = []
    for pipe in pipes:
        if not isinstance(pipe, BasePipe):
            raise TypeError(
                f">>: expected a rivusio pipe (SyncBasePipe, AsyncBasePipe, StreamPipe or a "
                f"pipeline) on both sides, got {type(pipe).__name__} ({pipe!r}); wrap "
                f"functions with rivusio.streams.map(fn)"
            )
        flat.extend(pipe.pipes if _is_plain_pipeline(pipe) else [pipe])  # type: ignore[attr-defined]
    if any(p.is_stream_stage for p in flat):
        from ..streams import StreamPipeline

        return StreamPipeline(flat)
    if all(isinstance(p, SyncBasePipe) for p in flat):
        # The all() above checked every pipe; mypy cannot narrow the list from it.
        return SyncPipeline(cast("list[SyncBasePipe[Any, Any]]", flat))
    return AsyncPipeline(flat)


def _check_pipes(owner: str, pipes: Sequence[Any]) -> list[BasePipe[Any, Any]]:
    if not pipes:
        raise ValueError(f"{owner}: needs at least one pipe (got an empty list)")
    for index, pipe in enumerate(pipes):
        if not isinstance(pipe, BasePipe):
            raise TypeError(
                f"{owner}: pipes[{index}] must be a rivusio pipe, got {type(pipe).__name__}"
            )
    return list(pipes)


def _check_keep_outputs(owner: str, keep: object) -> None:
    if keep is not None and (isinstance(keep, bool) or not isinstance(keep, int) or keep < 0):
        raise ValueError(
            f"{owner}: keep_outputs must be an int >= 0, or None to keep every output "
            f"(got {keep!r})"
        )


@attrs.define(eq=False)
class _Outputs:
    """The last few outputs of each pipe, for :meth:`get_pipe_outputs`.

    Every pipe's deque exists from the start, so that recording from several worker
    threads at once (``execute_parallel`` with ``thread_pool``) never races to create one.
    """

    by_pipe: dict[int, collections.deque[Any]]

    @classmethod
    def for_pipes(cls, pipes: Sequence[BasePipe[Any, Any]], keep: int | None) -> _Outputs:
        if keep == 0:
            return cls({})
        return cls({id(pipe): collections.deque(maxlen=keep) for pipe in pipes})

    def record(self, pipe: BasePipe[Any, Any], value: Any) -> None:
        kept = self.by_pipe.get(id(pipe))
        if kept is not None:
            kept.append(value)

    def get(self, pipe: BasePipe[Any, Any]) -> list[Any]:
        return list(self.by_pipe.get(id(pipe), ()))


class _Chain:
    """What SyncPipeline and AsyncPipeline share: their pipes, recent outputs and parallel
    settings. The fields are declared by each attrs class; only methods live here."""

    name: str
    pipes: list[BasePipe[Any, Any]]
    _outputs: _Outputs
    _parallel: ParallelConfig | None
    _parallel_session: Any

    def _init_chain(
        self,
        pipes: Sequence[BasePipe[Any, Any]],
        name: str | None,
        keep_outputs: int | None,
        settings: dict[str, Any],
    ) -> None:
        _check_keep_outputs(type(self).__name__, keep_outputs)
        self.__attrs_init__(name=name or type(self).__name__, **settings)  # type: ignore[attr-defined]
        self.pipes = _check_pipes(type(self).__name__, pipes)
        self._outputs = _Outputs.for_pipes(self.pipes, keep_outputs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({' >> '.join(p.name for p in self.pipes)})"

    def get_pipe_outputs(self, pipe: BasePipe[Any, Any]) -> list[Any]:
        """Return the most recent outputs of *pipe* (at most ``keep_outputs``), oldest first.

        Returns:
            A new list; ``[]`` for a pipe that is not in this pipeline or has not run.

        .. versionchanged:: 1.0
            Bounded by ``keep_outputs`` (100 by default); rivusio 0.2.0 kept every output
            forever, which ``keep_outputs=None`` still does.
        """
        return self._outputs.get(pipe)

    def configure_parallel(
        self,
        strategy: ExecutionStrategy | str,
        max_workers: int | None = None,
        chunk_size: int = 1000,
    ) -> None:
        """Choose how ``execute_parallel`` spreads inputs; see :mod:`rivusio.parallel`.

        Args:
            strategy: ``"gather"``, ``"thread_pool"`` or ``"process_pool"`` (or the
                :class:`~rivusio.ExecutionStrategy` member).
            max_workers: At most this many inputs at once; ``None`` for the strategy's
                default.
            chunk_size: Inputs per worker-process call under ``process_pool``.

        Raises:
            ConfigError: A value is invalid (``ConfigError`` is a ``ValueError``).
        """
        from ..parallel import make_parallel_config

        self._parallel = make_parallel_config(strategy, max_workers, chunk_size)


@attrs.define(eq=False, init=False, repr=False)
class SyncPipeline(_Chain, SyncBasePipe[InT, OutT]):
    """A chain of sync pipes; itself a sync pipe.

    ``pipeline(x)`` runs every pipe in order on one value. A pipe's
    :meth:`~rivusio.SyncBasePipe.handle_error` may supply a replacement; otherwise the
    failure is raised as :class:`~rivusio.PipelineError` naming the pipe.

    Args:
        pipes: The pipes, in order.
        name: Defaults to the class name.
        keep_outputs: How many recent outputs of each pipe :meth:`get_pipe_outputs` keeps
            (0 keeps none; ``None`` keeps every one, as rivusio 0.2.0 did, and memory
            grows with every call).
        on_error, dead_letter, retry: Defaults for the pipes inside when run in a stream.

    Raises:
        ValueError: *pipes* is empty, or ``keep_outputs`` is not an int ``>= 0`` or None.
        TypeError: An item of *pipes* is not a sync pipe.
    """

    pipes: list[BasePipe[Any, Any]] = attrs.field(init=False)
    _outputs: _Outputs = attrs.field(init=False)
    _parallel: ParallelConfig | None = attrs.field(init=False, default=None)
    _parallel_session: Any = attrs.field(init=False, default=None)

    def __init__(
        self,
        pipes: Sequence[SyncBasePipe[Any, Any]],
        name: str | None = None,
        *,
        keep_outputs: int | None = DEFAULT_KEPT_OUTPUTS,
        **settings: Any,
    ) -> None:
        self._init_chain(pipes, name, keep_outputs, settings)
        for index, pipe in enumerate(self.pipes):
            if not isinstance(pipe, SyncBasePipe):
                raise TypeError(
                    f"SyncPipeline: pipes[{index}] ({pipe.name}) is not a sync pipe; "
                    f"use AsyncPipeline for a chain with async pipes"
                )

    def process(self, data: InT) -> OutT:
        """Run *data* through every pipe in order.

        Raises:
            PipelineError: A pipe failed and its ``handle_error`` re-raised.
        """
        value: Any = data
        for pipe in self.pipes:
            try:
                value = pipe.process(value)  # type: ignore[attr-defined]
            except PipelineError:
                raise
            except Exception as exc:
                try:
                    value = pipe.handle_error(exc, value)  # type: ignore[attr-defined]
                except Exception as final:
                    raise PipelineError(pipe, final) from final
            self._outputs.record(pipe, value)
        return cast("OutT", value)

    def execute_conditional(self, data: InT, condition: Callable[[InT], bool]) -> InT | OutT:
        """Run the pipeline on *data* if ``condition(data)`` is true, else return *data*."""
        return self.process(data) if condition(data) else data

    def execute_parallel(self, items: Iterable[InT]) -> list[OutT]:
        """Run the pipeline on every item at once; results come in input order.

        Plain blocking code: the work runs on an event loop in a background thread that
        the enclosing ``with pipeline:`` block owns. See :mod:`rivusio.parallel`.

        Raises:
            PipelineError: Called outside ``with pipeline:``, or an item failed.
        """
        from ..parallel import run_parallel_sync

        return run_parallel_sync(self, self._parallel, items)

    def __enter__(self) -> SyncPipeline[InT, OutT]:
        from ..parallel import enter_parallel

        enter_parallel(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        from ..parallel import exit_parallel

        exit_parallel(self)


@attrs.define(eq=False, init=False, repr=False)
class AsyncPipeline(_Chain, AsyncBasePipe[InT, OutT]):
    """A chain of per-item pipes, sync and async mixed; itself an async pipe.

    ``await pipeline(x)`` runs every pipe in order on one value. A pipe's ``handle_error``
    may supply a replacement; otherwise the failure is raised as
    :class:`~rivusio.PipelineError` naming the pipe.

    Args:
        pipes: The pipes, in order.
        name: Defaults to the class name.
        keep_outputs: How many recent outputs of each pipe :meth:`get_pipe_outputs` keeps
            (0 keeps none; ``None`` keeps every one, as rivusio 0.2.0 did, and memory
            grows with every call).
        on_error, dead_letter, retry: Defaults for the pipes inside when run in a stream.

    Raises:
        ValueError: *pipes* is empty, or ``keep_outputs`` is not an int ``>= 0`` or None.
        TypeError: An item of *pipes* is not a per-item pipe (a stream stage needs ``>>``).
    """

    pipes: list[BasePipe[Any, Any]] = attrs.field(init=False)
    _outputs: _Outputs = attrs.field(init=False)
    _parallel: ParallelConfig | None = attrs.field(init=False, default=None)
    _parallel_session: Any = attrs.field(init=False, default=None)

    def __init__(
        self,
        pipes: Sequence[BasePipe[Any, Any]],
        name: str | None = None,
        *,
        keep_outputs: int | None = DEFAULT_KEPT_OUTPUTS,
        **settings: Any,
    ) -> None:
        self._init_chain(pipes, name, keep_outputs, settings)
        for index, pipe in enumerate(self.pipes):
            if pipe.is_stream_stage:
                raise TypeError(
                    f"AsyncPipeline: pipes[{index}] ({pipe.name}) is a stream stage; compose "
                    f"with >> to get a StreamPipeline and run it with .stream(source)"
                )

    async def process(self, data: InT) -> OutT:
        """Run *data* through every pipe in order.

        Raises:
            PipelineError: A pipe failed and its ``handle_error`` re-raised.
        """
        value: Any = data
        for pipe in self.pipes:
            given = value
            try:
                value = pipe.process(given)  # type: ignore[attr-defined]
                if inspect.isawaitable(value):
                    value = await value
            except PipelineError:
                raise
            except Exception as exc:
                try:
                    value = pipe.handle_error(exc, given)  # type: ignore[attr-defined]
                    if inspect.isawaitable(value):
                        value = await value
                except Exception as final:
                    raise PipelineError(pipe, final) from final
            self._outputs.record(pipe, value)
        return cast("OutT", value)

    async def execute_conditional(self, data: InT, condition: Callable[[InT], bool]) -> InT | OutT:
        """Run the pipeline on *data* if ``condition(data)`` is true, else return *data*."""
        return await self.process(data) if condition(data) else data

    async def execute_parallel(self, items: Iterable[InT]) -> list[OutT]:
        """Run the pipeline on every item at once; results come in input order.

        At most ``max_workers`` items are in flight at once. See :mod:`rivusio.parallel`.

        Raises:
            PipelineError: Called outside ``async with pipeline:``, or an item failed.
        """
        from ..parallel import run_parallel

        return await run_parallel(self, self._parallel, items)

    async def __aenter__(self) -> AsyncPipeline[InT, OutT]:
        from ..parallel import enter_parallel

        enter_parallel(self)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        from ..parallel import exit_parallel

        exit_parallel(self)

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
