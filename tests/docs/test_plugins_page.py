"""The examples of docs/reference/plugins.md, which includes them from here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from rivusio import AsyncBasePipe, SyncBasePipe
from rivusio.plugins import PluginInfo, PluginKind, PluginRegistry, registry

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(autouse=True)
def isolated_registry() -> Iterator[None]:
    """Give each test an empty registry and put the previous plugins back afterwards."""
    saved = registry.list_plugins()
    registry.clear()
    yield
    registry.clear()
    for info in saved:
        registry.register(info.kind, info.name)(info.cls)


def test_register_and_look_up() -> None:
    """A decorated class is registered under its name and returned unchanged."""

    @registry.register_async_source("numbers")
    class Numbers(AsyncBasePipe[int, int]):
        """Produce the numbers it is given."""

        async def process(self, data: int) -> int:
            return data

    @registry.register_sync_sink("stdout")
    class PrintSink(SyncBasePipe[Any, None]):
        """Print each item."""

        def process(self, data: Any) -> None:
            print(data)

    assert registry.get_async_source("numbers") is Numbers
    assert registry.get_sync_sink("stdout") is PrintSink
    assert PluginRegistry() is registry


def test_list_plugins() -> None:
    """list_plugins describes each plugin, in kind order, then by name."""

    @registry.register_sync_sink("stdout")
    class PrintSink(SyncBasePipe[Any, None]):
        """Print each item.

        One line per item, with print().
        """

        def process(self, data: Any) -> None:
            print(data)

    assert registry.list_plugins() == [
        PluginInfo(
            name="stdout", kind=PluginKind.SYNC_SINK, cls=PrintSink, summary="Print each item."
        )
    ]
    assert registry.list_plugins()[0].to_dict() == {
        "name": "stdout",
        "kind": "sync_sink",
        "class": "tests.docs.test_plugins_page.test_list_plugins.<locals>.PrintSink",
        "summary": "Print each item.",
    }


def test_unknown_name() -> None:
    """A lookup of a name that is not registered lists the names that are."""

    @registry.register_async_sink("kafka")
    class KafkaSink(AsyncBasePipe[bytes, None]):
        async def process(self, data: bytes) -> None:
            return None

    with pytest.raises(KeyError) as caught:
        registry.get_async_sink("kafak")

    assert caught.value.args[0] == (
        "async sink 'kafak': not registered; did you mean 'kafka'? (registered: 'kafka')"
    )


def test_wrong_base_class() -> None:
    """A sync pipe registered as an async plugin is refused, with the decorator to use."""
    with pytest.raises(TypeError) as caught:

        @registry.register_async_sink("csv")
        class CsvSink(SyncBasePipe[dict[str, Any], None]):
            def process(self, data: dict[str, Any]) -> None:
                return None

    assert str(caught.value) == (
        "async sink 'csv': CsvSink must be a subclass of rivusio.AsyncBasePipe or "
        "rivusio.streams.StreamPipe; it is a sync pipe, so register it with register_sync_sink"
    )


def test_name_taken() -> None:
    """A second class under a taken name is refused, naming the class that holds it."""

    @registry.register_sync_source("lines")
    class Lines(SyncBasePipe[str, str]):
        def process(self, data: str) -> str:
            return data

    with pytest.raises(ValueError) as caught:

        @registry.register_sync_source("lines")
        class OtherLines(SyncBasePipe[str, str]):
            def process(self, data: str) -> str:
                return data

    assert str(caught.value) == (
        "sync source 'lines': already registered to "
        "tests.docs.test_plugins_page.test_name_taken.<locals>.Lines; choose another name"
    )
