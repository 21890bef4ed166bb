"""Plugins: pipes registered by name as sources and sinks (rivusio 0.2.0's registry).

A plugin is a pipe class registered under a name in one of four kinds: async source,
async sink, sync source or sync sink. Registering happens when the module defining the
class is imported::

    from rivusio import AsyncBasePipe
    from rivusio.plugins import registry

    @registry.register_async_sink("stdout")
    class StdoutSink(AsyncBasePipe[str, str]):
        \"\"\"Print each item and pass it on.\"\"\"

        async def process(self, data: str) -> str:
            print(data)
            return data

    registry.get_async_sink("stdout")       # StdoutSink
    registry.list_plugins()                 # [PluginInfo(name='stdout', kind=..., ...)]

There is one registry per process: ``PluginRegistry()`` always returns the same object,
also available as ``rivusio.plugins.registry``, and the module-level
``register_async_source`` & co. are its bound methods.
"""

from __future__ import annotations

import difflib
import enum
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs

from .core.pipes import AsyncBasePipe, BasePipe, SyncBasePipe

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = (
    "PluginInfo",
    "PluginKind",
    "PluginRegistry",
    "register_async_sink",
    "register_async_source",
    "register_sync_sink",
    "register_sync_source",
    "registry",
)

PipeT = TypeVar("PipeT", bound=BasePipe[Any, Any])
"""A registered pipe class's instance type."""


class PluginKind(str, enum.Enum):
    """The four kinds of plugin; members equal their string values.

    Attributes:
        ASYNC_SOURCE: An async pipe that produces data.
        ASYNC_SINK: An async pipe that writes data out.
        SYNC_SOURCE: A sync pipe that produces data.
        SYNC_SINK: A sync pipe that writes data out.
    """

    ASYNC_SOURCE = "async_source"
    ASYNC_SINK = "async_sink"
    SYNC_SOURCE = "sync_source"
    SYNC_SINK = "sync_sink"

    @property
    def label(self) -> str:
        """The kind in words, as error messages spell it: ``"async source"``."""
        return self.value.replace("_", " ")

    @property
    def is_async(self) -> bool:
        """Whether plugins of this kind are async pipes."""
        return self in (PluginKind.ASYNC_SOURCE, PluginKind.ASYNC_SINK)


def _summary(cls: type) -> str:
    # Only the class's own docstring: an undocumented plugin must not show its base's.
    doc = cls.__dict__.get("__doc__") or ""
    lines = doc.strip().splitlines()
    return lines[0].strip() if lines else ""


@attrs.frozen(kw_only=True)
class PluginInfo:
    """What the registry knows about one plugin.

    Attributes:
        name: The name it was registered under.
        kind: Its :class:`PluginKind`.
        cls: The pipe class.
        summary: First line of the class's own docstring; ``""`` when it has none.
    """

    name: str
    kind: PluginKind
    cls: type[BasePipe[Any, Any]]
    summary: str

    @property
    def qualified_name(self) -> str:
        """The class as ``module.QualName``."""
        return f"{self.cls.__module__}.{self.cls.__qualname__}"

    def to_dict(self) -> dict[str, str]:
        """Return the info as plain strings (for JSON output).

        Returns:
            ``{"name": ..., "kind": ..., "class": "module.QualName", "summary": ...}``.
        """
        return {
            "name": self.name,
            "kind": self.kind.value,
            "class": self.qualified_name,
            "summary": self.summary,
        }


def _check_name(kind: PluginKind, name: Any) -> str:
    if isinstance(name, type):
        raise TypeError(
            f"register_{kind.value}: expected a plugin name, got the class {name.__qualname__}; "
            f"call the decorator with a name: @register_{kind.value}('my-name')"
        )
    if not isinstance(name, str) or not name:
        raise ValueError(f"register_{kind.value}: name must be a non-empty string (got {name!r})")
    return name


def _check_class(kind: PluginKind, name: str, cls: Any) -> None:
    from .streams import StreamPipe

    wrong: type
    wrong_kind: str
    if kind.is_async:
        bases: tuple[type, ...] = (AsyncBasePipe, StreamPipe)
        expected = "rivusio.AsyncBasePipe or rivusio.streams.StreamPipe"
        other = f"register_{kind.value.replace('async', 'sync')}"
        wrong, wrong_kind = SyncBasePipe, "a sync pipe"
    else:
        bases = (SyncBasePipe,)
        expected = "rivusio.SyncBasePipe"
        other = f"register_{kind.value.replace('sync', 'async')}"
        wrong, wrong_kind = AsyncBasePipe, "an async pipe"
    if isinstance(cls, type) and issubclass(cls, bases):
        return
    shown = cls.__name__ if isinstance(cls, type) else repr(cls)
    message = f"{kind.label} {name!r}: {shown} must be a subclass of {expected}"
    if isinstance(cls, type) and issubclass(cls, wrong):
        message += f"; it is {wrong_kind}, so register it with {other}"
    raise TypeError(message)


class PluginRegistry:
    """The registry of plugins, one per process (a singleton, as in rivusio 0.2.0).

    Names are unique within a kind: an async source and a sync sink may share a name,
    two async sources may not.

    Example::

        registry = PluginRegistry()

        @registry.register_sync_source("numbers")
        class Numbers(SyncBasePipe[int, int]):
            \"\"\"Pass numbers through.\"\"\"

            def process(self, data: int) -> int:
                return data

        assert registry.get_sync_source("numbers") is Numbers
        assert PluginRegistry() is registry
    """

    _instance: ClassVar[PluginRegistry | None] = None
    _async_sources: dict[str, type[BasePipe[Any, Any]]]
    _async_sinks: dict[str, type[BasePipe[Any, Any]]]
    _sync_sources: dict[str, type[BasePipe[Any, Any]]]
    _sync_sinks: dict[str, type[BasePipe[Any, Any]]]

    def __new__(cls) -> PluginRegistry:  # noqa: PYI034 (returns the one registry, not a new cls)
        """Return the one registry, creating it on first use."""
        if cls._instance is None:
            instance = super().__new__(cls)
            instance._async_sources = {}
            instance._async_sinks = {}
            instance._sync_sources = {}
            instance._sync_sinks = {}
            cls._instance = instance
        return cls._instance

    def _table(self, kind: PluginKind) -> dict[str, type[BasePipe[Any, Any]]]:
        return {
            PluginKind.ASYNC_SOURCE: self._async_sources,
            PluginKind.ASYNC_SINK: self._async_sinks,
            PluginKind.SYNC_SOURCE: self._sync_sources,
            PluginKind.SYNC_SINK: self._sync_sinks,
        }[kind]

    def register(self, kind: PluginKind | str, name: str) -> Callable[[type[PipeT]], type[PipeT]]:
        """Return a class decorator that registers a pipe class as *name* of *kind*.

        Registering the same class twice under the same name is allowed and changes
        nothing.

        Args:
            kind: A :class:`PluginKind` or its string value (``"async_source"``, ...).
            name: The plugin's name, unique within *kind*.

        Returns:
            A decorator that registers the class and returns it unchanged.

        Raises:
            ValueError: *kind* is unknown or *name* is empty (at once); *name* is taken
                by another class (when the decorator runs).
            TypeError: The decorated object is not a subclass of the kind's base: an
                async pipe (``AsyncBasePipe`` or ``StreamPipe``) for async kinds, a
                ``SyncBasePipe`` for sync ones.
        """
        kind = _to_kind(kind)
        name = _check_name(kind, name)
        table = self._table(kind)

        def decorator(cls: type[PipeT]) -> type[PipeT]:
            _check_class(kind, name, cls)
            existing = table.get(name)
            if existing is not None and existing is not cls:
                raise ValueError(
                    f"{kind.label} {name!r}: already registered to "
                    f"{existing.__module__}.{existing.__qualname__}; choose another name"
                )
            table[name] = cls
            return cls

        return decorator

    def register_async_source(self, name: str) -> Callable[[type[PipeT]], type[PipeT]]:
        """Register an async pipe class as the async source *name*; a class decorator.

        See :meth:`register` for the errors.
        """
        return self.register(PluginKind.ASYNC_SOURCE, name)

    def register_async_sink(self, name: str) -> Callable[[type[PipeT]], type[PipeT]]:
        """Register an async pipe class as the async sink *name*; a class decorator.

        See :meth:`register` for the errors.
        """
        return self.register(PluginKind.ASYNC_SINK, name)

    def register_sync_source(self, name: str) -> Callable[[type[PipeT]], type[PipeT]]:
        """Register a sync pipe class as the sync source *name*; a class decorator.

        See :meth:`register` for the errors.
        """
        return self.register(PluginKind.SYNC_SOURCE, name)

    def register_sync_sink(self, name: str) -> Callable[[type[PipeT]], type[PipeT]]:
        """Register a sync pipe class as the sync sink *name*; a class decorator.

        See :meth:`register` for the errors.
        """
        return self.register(PluginKind.SYNC_SINK, name)

    def get(self, kind: PluginKind | str, name: str) -> type[BasePipe[Any, Any]]:
        """Return the class registered as *name* of *kind*.

        Raises:
            KeyError: Nothing of *kind* is registered as *name*; the message lists the
                registered names and suggests a close one.
        """
        kind = _to_kind(kind)
        table = self._table(kind)
        try:
            return table[name]
        except KeyError:
            raise KeyError(_not_found(kind.label, name, sorted(table))) from None

    def get_async_source(self, name: str) -> type[BasePipe[Any, Any]]:
        """Return the async source registered as *name*.

        Raises:
            KeyError: None is; the message lists the registered async sources.
        """
        return self.get(PluginKind.ASYNC_SOURCE, name)

    def get_async_sink(self, name: str) -> type[BasePipe[Any, Any]]:
        """Return the async sink registered as *name*.

        Raises:
            KeyError: None is; the message lists the registered async sinks.
        """
        return self.get(PluginKind.ASYNC_SINK, name)

    def get_sync_source(self, name: str) -> type[BasePipe[Any, Any]]:
        """Return the sync source registered as *name*.

        Raises:
            KeyError: None is; the message lists the registered sync sources.
        """
        return self.get(PluginKind.SYNC_SOURCE, name)

    def get_sync_sink(self, name: str) -> type[BasePipe[Any, Any]]:
        """Return the sync sink registered as *name*.

        Raises:
            KeyError: None is; the message lists the registered sync sinks.
        """
        return self.get(PluginKind.SYNC_SINK, name)

    def list_async_sources(self) -> dict[str, type[BasePipe[Any, Any]]]:
        """Return a copy of the async sources, by name."""
        return dict(self._async_sources)

    def list_async_sinks(self) -> dict[str, type[BasePipe[Any, Any]]]:
        """Return a copy of the async sinks, by name."""
        return dict(self._async_sinks)

    def list_sync_sources(self) -> dict[str, type[BasePipe[Any, Any]]]:
        """Return a copy of the sync sources, by name."""
        return dict(self._sync_sources)

    def list_sync_sinks(self) -> dict[str, type[BasePipe[Any, Any]]]:
        """Return a copy of the sync sinks, by name."""
        return dict(self._sync_sinks)

    def get_registered_plugins(self) -> dict[str, dict[str, type[BasePipe[Any, Any]]]]:
        """Return copies of all four tables.

        Returns:
            A dict with the keys ``"async_sources"``, ``"async_sinks"``,
            ``"sync_sources"`` and ``"sync_sinks"``, each mapping names to classes.
        """
        return {f"{kind.value}s": dict(self._table(kind)) for kind in PluginKind}

    def list_plugins(self, kind: PluginKind | str | None = None) -> list[PluginInfo]:
        """Describe the registered plugins, sorted by kind (in :class:`PluginKind` order)
        and then by name.

        Args:
            kind: Only this kind; ``None`` for all.

        Returns:
            One :class:`PluginInfo` per registered plugin.

        Raises:
            ValueError: *kind* is not a plugin kind.
        """
        kinds = list(PluginKind) if kind is None else [_to_kind(kind)]
        return [
            PluginInfo(name=name, kind=each, cls=cls, summary=_summary(cls))
            for each in kinds
            for name, cls in sorted(self._table(each).items())
        ]

    def find_plugins(self, name: str) -> list[PluginInfo]:
        """Describe every plugin registered as *name*, of any kind, in kind order.

        Raises:
            KeyError: No plugin has that name; the message lists the registered names and
                suggests a close one.
        """
        found = [info for info in self.list_plugins() if info.name == name]
        if not found:
            names = sorted({info.name for info in self.list_plugins()})
            raise KeyError(_not_found("plugin", name, names))
        return found

    def clear(self) -> None:
        """Forget every registered plugin (for test isolation)."""
        for kind in PluginKind:
            self._table(kind).clear()


def _to_kind(kind: PluginKind | str) -> PluginKind:
    try:
        return PluginKind(kind)
    except ValueError:
        choices = ", ".join(repr(k.value) for k in PluginKind)
        raise ValueError(f"kind: must be one of {choices} (got {kind!r})") from None


def _not_found(what: str, name: str, names: list[str]) -> str:
    message = f"{what} {name!r}: not registered"
    close = difflib.get_close_matches(name, names, n=1)
    if close:
        message += f"; did you mean {close[0]!r}?"
    registered = ", ".join(map(repr, names)) if names else "none"
    return f"{message} (registered: {registered})"


registry = PluginRegistry()
"""The registry; ``PluginRegistry()`` returns this same object."""

register_async_source = registry.register_async_source
register_async_sink = registry.register_async_sink
register_sync_source = registry.register_sync_source
register_sync_sink = registry.register_sync_sink
