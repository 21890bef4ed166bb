"""Pipes: both subclass styles, names, calls, hooks and sync/async mix-ups."""

from __future__ import annotations

import pickle

import attrs
import pytest

from rivusio import AsyncBasePipe, AsyncPipeline, SyncBasePipe, SyncPipeline, SyncStream
from rivusio.streams import StreamPipe, StreamPipeline

from ..helpers import Double, Inc


class Scale(SyncBasePipe[float, float]):
    """Plain subclass with its own __init__."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def process(self, data: float) -> float:
        return data * self.factor


@attrs.define
class Offset(SyncBasePipe[float, float]):
    """attrs subclass with a field."""

    offset: float

    def process(self, data: float) -> float:
        return data + self.offset


@attrs.define
class AsyncOffset(AsyncBasePipe[float, float]):
    """attrs async subclass with a field."""

    offset: float

    async def process(self, data: float) -> float:
        return data + self.offset


def test_plain_subclass_with_own_init() -> None:
    """A plain subclass calling super().__init__() works and is named after its class."""
    pipe = Scale(3)
    assert pipe(2) == 6
    assert pipe.name == "Scale"
    assert str(pipe) == "Scale"


def test_attrs_subclass_with_fields() -> None:
    """An @attrs.define subclass takes its fields positionally and the base's by keyword."""
    pipe = Offset(1.5, name="shift")
    assert pipe(1) == 2.5
    assert pipe.name == "shift"
    assert Offset(0).name == "Offset"


async def test_async_call_runs_process() -> None:
    """`await pipe(x)` is `await pipe.process(x)`."""
    assert await AsyncOffset(2)(1) == 3
    assert await Inc()(1) == 2


def test_sync_process_on_async_base_says_which_base() -> None:
    """A plain `def process` on AsyncBasePipe is rejected with the fix."""
    with pytest.raises(TypeError, match=r"is a plain 'def' method.*subclass SyncBasePipe instead"):

        class Wrong(AsyncBasePipe[int, int]):
            def process(self, data: int) -> int:  # type: ignore[override]
                return data


def test_async_process_on_sync_base_says_which_base() -> None:
    """An `async def process` on SyncBasePipe is rejected with the fix."""
    with pytest.raises(TypeError, match=r"is an 'async def' method.*subclass AsyncBasePipe"):

        class Wrong(SyncBasePipe[int, int]):
            async def process(self, data: int) -> int:  # type: ignore[override]
                return data


def test_async_generator_process_is_rejected() -> None:
    """A generator `process` points to StreamPipe.process_stream."""
    with pytest.raises(TypeError, match=r"async generator.*process_stream"):

        class Wrong(AsyncBasePipe[int, int]):
            async def process(self, data: int):  # type: ignore[no-untyped-def]
                yield data


def test_missing_process_is_a_clear_error() -> None:
    """Calling a pipe that never overrode process says what to write."""

    class Empty(SyncBasePipe[int, int]):
        pass

    with pytest.raises(TypeError, match=r"Empty must override 'def process\(self, data\)'"):
        Empty()(1)


def test_handle_error_default_reraises() -> None:
    """The default handle_error re-raises the error it is given."""
    error = ValueError("x")
    with pytest.raises(ValueError, match="x"):
        Double().handle_error(error, 1)


def test_invalid_on_error_is_rejected() -> None:
    """on_error accepts only the three policies."""
    with pytest.raises(
        ValueError, match="on_error: must be one of 'raise', 'skip', 'dead_letter'"
    ):
        Double(on_error="ignore")  # type: ignore[arg-type]


def test_sync_rshift_sync_is_a_sync_pipeline() -> None:
    """sync >> sync gives a SyncPipeline that runs in order."""
    pipeline = Scale(2) >> Offset(1)
    assert isinstance(pipeline, SyncPipeline)
    assert pipeline(3) == 7


@pytest.mark.parametrize(
    "build",
    [
        lambda: Double() >> Inc(),
        lambda: Inc() >> Double(),
        lambda: Inc() >> Inc(),
    ],
)
async def test_any_async_makes_an_async_pipeline(build: object) -> None:
    """Any async pipe in the chain gives an AsyncPipeline."""
    pipeline = build()  # type: ignore[operator]
    assert isinstance(pipeline, AsyncPipeline)
    assert await pipeline(1) in {3, 4}


def test_stream_stage_makes_a_stream_pipeline() -> None:
    """Any stream stage in the chain gives a StreamPipeline."""
    assert isinstance(Double() >> StreamPipe(), StreamPipeline)
    assert isinstance(StreamPipe() >> Inc(), StreamPipeline)


def test_rshift_flattens() -> None:
    """(a >> b) >> c and a >> (b >> c) both have three pipes."""
    a, b, c = Double(), Inc(), Double()
    assert [p.name for p in ((a >> b) >> c).pipes] == ["Double", "Inc", "Double"]
    assert ((a >> b) >> c).pipes == [a, b, c]
    assert (a >> (b >> c)).pipes == [a, b, c]


def test_rshift_keeps_a_pipeline_with_its_own_settings() -> None:
    """A pipeline carrying an error policy stays one unit when composed further."""
    inner: AsyncPipeline[int, int] = AsyncPipeline([Double(), Inc()], on_error="skip")
    outer = inner >> Double()
    assert outer.pipes[0] is inner


def test_rshift_with_a_non_pipe_says_how_to_wrap() -> None:
    """`pipe >> function` explains the fix."""
    with pytest.raises(TypeError, match=r"got function.*rivusio.streams.map\(fn\)"):
        Double() >> (lambda x: x)  # type: ignore[operator]


class NoSuper(SyncBasePipe[int, int]):
    """A rivusio 0.2.0-style pipe whose __init__ never calls super().__init__()."""

    def __init__(self, factor: int) -> None:
        self.factor = factor

    def process(self, data: int) -> int:
        return data * self.factor


def test_pipe_without_super_init_gets_the_defaults() -> None:
    """A pipe that skipped super().__init__() still has a name and default settings."""
    pipe = NoSuper(3)
    assert (pipe.name, pipe.on_error, pipe.dead_letter, pipe.retry) == (
        "NoSuper",
        None,
        None,
        None,
    )
    assert list(SyncStream([1, 2]).through(pipe)) == [3, 6]
    with pytest.raises(AttributeError, match="'NoSuper' object has no attribute 'missing'"):
        pipe.missing  # type: ignore[attr-defined]  # noqa: B018


def test_pickling_keeps_fields_and_own_attributes() -> None:
    """Plain subclasses keep their own attributes through pickle; attrs ones their fields."""
    scale = pickle.loads(pickle.dumps(Scale(2.5)))
    assert (scale.factor, scale.name, scale(2)) == (2.5, "Scale", 5.0)
    offset = pickle.loads(pickle.dumps(Offset(1.0, name="shift", on_error="skip")))
    assert (offset.offset, offset.name, offset.on_error) == (1.0, "shift", "skip")
    bare = pickle.loads(pickle.dumps(NoSuper(4)))
    assert (bare.factor, bare.name) == (4, "NoSuper")


async def test_missing_async_process_is_a_clear_error() -> None:
    """Awaiting an async pipe that never overrode process says what to write."""

    class Empty(AsyncBasePipe[int, int]):
        pass

    with pytest.raises(
        TypeError, match=r"\.Empty must override 'async def process\(self, data\)'$"
    ):
        await Empty()(1)
