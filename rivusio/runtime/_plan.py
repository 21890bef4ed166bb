"""Plans: what the runner runs, built from the user's chain of pipes.

Consecutive per-item pipes become one :class:`~._stage.FusedStage`; every stream stage
(``StreamPipe``, batches, windows, operators with their own task) is a stage of its own. A
link, and so a channel hop, exists only between stages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from ..core.pipeline import AsyncPipeline, SyncPipeline
from ..core.pipes import AsyncBasePipe, BasePipe, SyncBasePipe
from ._policy import Policy
from ._stage import FusedStage, Stage
from ._steps import Step

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ..config import BackpressureConfig, StreamConfig

Unit = Step | Stage
"""A per-item step (fusable) or a stage of its own."""


def policy_of(config: StreamConfig | None) -> Policy:
    """The stream-wide error policy of *config*.

    Only ``config.retry`` retries here; rivusio 0.2.0's ``retry_attempts``/``retry_delay``
    fields (default: three tries) apply to the 0.2.0 ``process()`` API alone, so that a
    config made for buffers or ``skip_none`` never starts retrying failed items.
    """
    if config is None:
        return Policy()
    return Policy().under(config.on_error, config.dead_letter, config.retry)


def step_for(
    pipe: BasePipe[Any, Any],
    policy: Policy,
    *,
    fn: Callable[[Any], Any],
    is_async: bool,
    base: type[Any],
) -> Step:
    """Describe a per-item pipe as a fusable step under *policy*.

    *base* is the class whose ``handle_error`` only re-raises: a pipe that keeps it gets
    no handler call on the error path.
    """
    policy.check(pipe.name)
    overrides_handler = type(pipe).handle_error is not base.handle_error  # type: ignore[attr-defined]
    return Step(
        name=pipe.name,
        fn=fn,
        is_async=is_async,
        handler=pipe.handle_error if overrides_handler else None,  # type: ignore[attr-defined]
        policy=policy,
        hooks=(pipe,),
    )


def units_for(pipe: BasePipe[Any, Any], outer: Policy) -> list[Unit]:
    """Expand *pipe* into steps and stages; its own settings override *outer*."""
    policy = outer.under(pipe.on_error, pipe.dead_letter, pipe.retry)
    if pipe.is_stream_stage:
        return pipe.plan_units(policy)  # type: ignore[attr-defined,no-any-return]
    for pipeline_type in (SyncPipeline, AsyncPipeline):
        if isinstance(pipe, pipeline_type) and type(pipe).process is pipeline_type.process:
            return [unit for inner in pipe.pipes for unit in units_for(inner, policy)]
    if isinstance(pipe, AsyncBasePipe):
        return [step_for(pipe, policy, fn=pipe.process, is_async=True, base=AsyncBasePipe)]
    if isinstance(pipe, SyncBasePipe):
        return [step_for(pipe, policy, fn=pipe.process, is_async=False, base=SyncBasePipe)]
    raise TypeError(
        f"stage {pipe.name!r}: {type(pipe).__name__} is neither a sync nor an async pipe nor "
        f"a stream stage; subclass SyncBasePipe, AsyncBasePipe or rivusio.streams.StreamPipe"
    )


def fuse(units: Sequence[Unit]) -> list[Stage]:
    """Group consecutive steps into fused stages."""
    stages: list[Stage] = []
    run: list[Step] = []
    for unit in units:
        if isinstance(unit, Step):
            run.append(unit)
            continue
        if run:
            stages.append(FusedStage(run))
            run = []
        stages.append(unit)
    if run:
        stages.append(FusedStage(run))
    return stages


def _keep(item: Any) -> bool:
    return item is not None


@attrs.define(eq=False)
class Plan:
    """The stages of one run, in order, and the stream's default buffer settings.

    ``pipes`` (the pipes the plan was built from), ``monitors`` (the stream's own) and
    ``collect_metrics`` tell the runner which monitors watch the run (:mod:`._watch`).
    """

    stages: list[Stage]
    backpressure: BackpressureConfig
    pipes: list[BasePipe[Any, Any]] = attrs.field(factory=list)
    monitors: Sequence[Any] = ()
    collect_metrics: bool = True

    @classmethod
    def build(
        cls,
        segments: Sequence[tuple[BasePipe[Any, Any], Policy]],
        config: StreamConfig | None,
        *,
        monitors: Sequence[Any] = (),
    ) -> Plan:
        """Plan a run of *segments* (each a pipe with the settings of its ``through``).

        *monitors* watch every stage of the run, in addition to the monitors of the pipes.
        """
        from ..config import BackpressureConfig

        units: list[Unit] = [u for pipe, policy in segments for u in units_for(pipe, policy)]
        if config is not None and config.skip_none:
            units.append(Step(name="skip_none", fn=_keep, is_async=False, kind="filter"))
        backpressure = BackpressureConfig()
        if config is not None:
            backpressure = config.effective_backpressure()
        return cls(
            fuse(units),
            backpressure,
            pipes=[pipe for pipe, _ in segments],
            monitors=monitors,
            collect_metrics=config is None or config.collect_metrics,
        )
