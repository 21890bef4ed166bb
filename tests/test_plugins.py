"""The plugin registry: registering, rejecting, looking up and listing plugins."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

import rivusio
from rivusio import AsyncBasePipe, SyncBasePipe
from rivusio.plugins import (
    PluginInfo,
    PluginKind,
    PluginRegistry,
    register_async_sink,
    register_async_source,
    register_sync_sink,
    register_sync_source,
    registry,
)
from rivusio.streams import StreamPipe

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(autouse=True)
def empty_registry() -> Iterator[None]:
    """Run each test on an empty registry, and restore what was registered before."""
    saved = registry.list_plugins()
    registry.clear()
    yield
    registry.clear()
    for info in saved:
        registry.register(info.kind, info.name)(info.cls)


class Reader(AsyncBasePipe[Any, Any]):
    """Read records from somewhere.

    More text that the listing leaves out.
    """

    async def process(self, data: Any) -> Any:
        return data


class Writer(SyncBasePipe[Any, Any]):
    def process(self, data: Any) -> Any:
        return data


class Batcher(StreamPipe[Any, Any]):
    """Group records before writing them."""


def test_the_registry_is_a_singleton() -> None:
    """PluginRegistry() is always the module's registry, also at the top level."""
    assert PluginRegistry() is PluginRegistry() is registry
    assert rivusio.PluginRegistry is PluginRegistry
    assert rivusio.register_async_source == registry.register_async_source


def test_the_four_decorators_register_and_return_the_class() -> None:
    """Each decorator files the class under its name and kind and returns it unchanged."""
    assert register_async_source("in")(Reader) is Reader
    assert register_async_sink("out")(Reader) is Reader
    assert register_sync_source("in")(Writer) is Writer
    assert register_sync_sink("out")(Writer) is Writer
    assert registry.get_async_source("in") is Reader
    assert registry.get_async_sink("out") is Reader
    assert registry.get_sync_source("in") is Writer
    assert registry.get_sync_sink("out") is Writer


def test_decorator_syntax_on_the_registry() -> None:
    """'@registry.register_async_source(name)' on a class definition registers it."""

    @registry.register_async_source("kafka")
    class KafkaSource(AsyncBasePipe[None, dict[str, Any]]):
        async def process(self, data: None) -> dict[str, Any]:
            return {}

    assert registry.list_async_sources() == {"kafka": KafkaSource}


def test_stream_pipes_register_as_async_plugins() -> None:
    """A StreamPipe is an async pipe, so it may be an async source or sink."""
    register_async_sink("batches")(Batcher)
    assert registry.get_async_sink("batches") is Batcher


def test_a_non_pipe_class_is_rejected() -> None:
    """A class that is no pipe raises TypeError naming it and the expected base."""

    class Plain:
        pass

    with pytest.raises(
        TypeError,
        match=(
            r"^async source 'x': Plain must be a "
            r"subclass of rivusio.AsyncBasePipe or rivusio.streams.StreamPipe$"
        ),
    ):
        registry.register_async_source("x")(Plain)  # type: ignore[type-var]
    with pytest.raises(
        TypeError, match=r"^sync sink 'y': Plain must be a subclass of rivusio.SyncBasePipe$"
    ):
        registry.register_sync_sink("y")(Plain)  # type: ignore[type-var]
    assert registry.list_plugins() == []


def test_a_pipe_of_the_other_kind_is_rejected_with_the_fix() -> None:
    """A sync pipe given to an async kind (and back) is told which decorator to use."""
    with pytest.raises(
        TypeError,
        match=(
            r"^async sink 'w': Writer must be a subclass of rivusio.AsyncBasePipe or "
            r"rivusio.streams.StreamPipe; it is a sync pipe, so register it with "
            r"register_sync_sink$"
        ),
    ):
        register_async_sink("w")(Writer)
    with pytest.raises(
        TypeError,
        match=(
            r"^sync source 'r': Reader must be a subclass of rivusio.SyncBasePipe; "
            r"it is an async pipe, so register it with register_async_source$"
        ),
    ):
        register_sync_source("r")(Reader)


def test_an_instance_is_rejected() -> None:
    """Registering a pipe instance instead of its class is a TypeError showing the value."""
    with pytest.raises(TypeError, match=r"^sync sink 'w': Writer\(name='Writer'\) must be"):
        register_sync_sink("w")(Writer())  # type: ignore[arg-type]


def test_a_duplicate_name_is_rejected() -> None:
    """A second class under a taken name raises ValueError naming the name and the holder."""
    register_async_source("src")(Reader)

    class Other(AsyncBasePipe[Any, Any]):
        async def process(self, data: Any) -> Any:
            return data

    with pytest.raises(
        ValueError,
        match=(
            r"^async source 'src': already registered to tests.test_plugins.Reader; "
            r"choose another name$"
        ),
    ):
        register_async_source("src")(Other)
    assert registry.get_async_source("src") is Reader


def test_registering_the_same_class_twice_is_harmless() -> None:
    """The same class under the same name again changes nothing."""
    register_sync_sink("w")(Writer)
    register_sync_sink("w")(Writer)
    assert registry.list_sync_sinks() == {"w": Writer}


def test_names_are_unique_per_kind_only() -> None:
    """An async source and a sync source may share a name."""
    register_async_source("same")(Reader)
    register_sync_source("same")(Writer)
    assert [(info.kind, info.cls) for info in registry.find_plugins("same")] == [
        (PluginKind.ASYNC_SOURCE, Reader),
        (PluginKind.SYNC_SOURCE, Writer),
    ]


def test_bad_names_are_rejected() -> None:
    """An empty name is a ValueError; forgetting the name altogether is a TypeError."""
    with pytest.raises(
        ValueError, match=r"^register_sync_sink: name must be a non-empty string \(got ''\)$"
    ):
        register_sync_sink("")
    with pytest.raises(
        TypeError,
        match=(
            r"^register_async_source: expected a plugin name, got the class Reader; call the "
            r"decorator with a name: @register_async_source\('my-name'\)$"
        ),
    ):
        register_async_source(Reader)  # type: ignore[arg-type]


def test_unknown_names_list_what_is_registered() -> None:
    """A failed lookup is a KeyError listing the registered names and a close match."""
    register_async_sink("kafka")(Reader)
    register_async_sink("http")(Reader)
    with pytest.raises(
        KeyError,
        match=(
            r"async sink 'kafak': not registered; did you mean 'kafka'\? "
            r"\(registered: 'http', 'kafka'\)"
        ),
    ):
        registry.get_async_sink("kafak")
    with pytest.raises(KeyError, match=r"sync sink 'csv': not registered \(registered: none\)"):
        registry.get_sync_sink("csv")
    with pytest.raises(KeyError, match=r"async source 'x': not registered \(registered: none\)"):
        registry.get_async_source("x")
    with pytest.raises(KeyError, match=r"sync source 'x': not registered"):
        registry.get_sync_source("x")


def test_lookups_by_kind_value() -> None:
    """register() and get() take a kind's string value too; a bad kind is a ValueError."""
    registry.register("sync_sink", "w")(Writer)
    assert registry.get("sync_sink", "w") is Writer
    with pytest.raises(
        ValueError,
        match=(
            r"^kind: must be one of 'async_source', 'async_sink', 'sync_source', 'sync_sink' "
            r"\(got 'source'\)$"
        ),
    ):
        registry.get("source", "w")


def test_listing_by_kind_in_0_2_0_form() -> None:
    """The 0.2.0 listings return copies of each table, grouped as 0.2.0 grouped them."""
    register_async_source("a")(Reader)
    register_async_sink("b")(Reader)
    register_sync_source("c")(Writer)
    register_sync_sink("d")(Writer)
    assert registry.get_registered_plugins() == {
        "async_sources": {"a": Reader},
        "async_sinks": {"b": Reader},
        "sync_sources": {"c": Writer},
        "sync_sinks": {"d": Writer},
    }
    assert registry.list_async_sources() == {"a": Reader}
    assert registry.list_async_sinks() == {"b": Reader}
    assert registry.list_sync_sources() == {"c": Writer}
    listed = registry.list_sync_sinks()
    listed.clear()
    assert registry.list_sync_sinks() == {"d": Writer}


def test_structured_listing() -> None:
    """list_plugins describes each plugin: name, kind, class and docstring summary."""
    register_sync_sink("zeta")(Writer)
    register_sync_sink("alpha")(Writer)
    register_async_sink("batches")(Batcher)
    register_async_source("reader")(Reader)
    assert registry.list_plugins() == [
        PluginInfo(
            name="reader",
            kind=PluginKind.ASYNC_SOURCE,
            cls=Reader,
            summary="Read records from somewhere.",
        ),
        PluginInfo(
            name="batches",
            kind=PluginKind.ASYNC_SINK,
            cls=Batcher,
            summary="Group records before writing them.",
        ),
        PluginInfo(name="alpha", kind=PluginKind.SYNC_SINK, cls=Writer, summary=""),
        PluginInfo(name="zeta", kind=PluginKind.SYNC_SINK, cls=Writer, summary=""),
    ]
    assert [info.name for info in registry.list_plugins("sync_sink")] == ["alpha", "zeta"]


def test_plugin_info_as_plain_data() -> None:
    """PluginInfo gives the class's dotted name and a dict of strings for JSON."""
    register_async_source("reader")(Reader)
    (info,) = registry.find_plugins("reader")
    assert info.qualified_name == "tests.test_plugins.Reader"
    assert info.kind.label == "async source"
    assert info.to_dict() == {
        "name": "reader",
        "kind": "async_source",
        "class": "tests.test_plugins.Reader",
        "summary": "Read records from somewhere.",
    }


def test_find_plugins_of_an_unknown_name() -> None:
    """find_plugins of a name nobody registered lists every registered name."""
    register_async_source("reader")(Reader)
    register_sync_sink("writer")(Writer)
    with pytest.raises(
        KeyError,
        match=(
            r"plugin 'writr': not registered; did you mean 'writer'\? "
            r"\(registered: 'reader', 'writer'\)"
        ),
    ):
        registry.find_plugins("writr")


def test_registry_works_as_0_2_0_tests_used_it() -> None:
    """0.2.0's tests cleared the private tables between tests; that still works."""
    register_async_source("a")(Reader)
    assert len(registry._async_sources) == 1
    registry._async_sources.clear()
    assert registry.list_plugins() == []
