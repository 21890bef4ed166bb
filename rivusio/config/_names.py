"""Exception classes by name: how ``retry_on`` is written in TOML and read back.

Three spellings are read: ``"module:Qual.Name"``, ``"module.Qual.Name"`` (the longest
importable prefix is the module) and a bare builtin such as ``"TimeoutError"``.
Names are written as ``"module.Qual.Name"``, which reads back to the same class.
"""

import builtins
import importlib
from typing import Any

from rivusio.core.exceptions import ConfigError


class NameLookupError(LookupError):
    """A name does not lead to an object; the message says why."""


def _getattr_path(obj: Any, owner: str, path: str) -> Any:
    for part in path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise NameLookupError(f"{owner!r} has no attribute {part!r}") from None
        owner = f"{owner}.{part}"
    return obj


def _import(module_name: str) -> Any:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError:
        raise
    except Exception as exc:
        raise NameLookupError(
            f"importing {module_name!r} failed: {type(exc).__name__}: {exc}"
        ) from exc


def lookup(name: str) -> Any:
    """Return the object that ``name`` refers to.

    Raises:
        NameLookupError: The name is malformed, its module cannot be imported, or an
            attribute on the way is missing.
    """
    if not name or name.strip() != name:
        raise NameLookupError("a name must be non-empty and have no surrounding spaces")
    if ":" in name:
        module_name, _, qualname = name.partition(":")
        if not module_name or not qualname:
            raise NameLookupError("the form is 'module:Qual.Name'")
        try:
            module = _import(module_name)
        except ModuleNotFoundError:
            raise NameLookupError(f"no module named {module_name!r}") from None
        return _getattr_path(module, module_name, qualname)
    if "." not in name:
        return _getattr_path(builtins, "builtins", name)
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            module = _import(module_name)
        except ModuleNotFoundError as exc:
            # Only step to a shorter prefix when it is this module that is missing, not
            # something that the module itself imports.
            missing = exc.name or ""
            if module_name == missing or module_name.startswith(missing + "."):
                continue
            raise NameLookupError(f"importing {module_name!r} failed: {exc}") from exc
        return _getattr_path(module, module_name, ".".join(parts[cut:]))
    raise NameLookupError(f"no module named {parts[0]!r}")


def exception_class(name: str) -> type[Exception]:
    """Resolve ``name`` to a subclass of :class:`Exception`.

    Raises:
        NameLookupError: The name does not resolve, or not to a subclass of Exception.
    """
    obj = lookup(name)
    if isinstance(obj, type) and issubclass(obj, Exception):
        return obj
    if isinstance(obj, type) and issubclass(obj, BaseException):
        raise NameLookupError(
            f"{name!r} is not a subclass of Exception; interrupts and cancellation are "
            "never retried"
        )
    raise NameLookupError(f"{name!r} is {obj!r}, not an exception class")


def exception_name(cls: type[BaseException]) -> str:
    """Return the name that :func:`exception_class` reads back to ``cls``.

    Raises:
        ConfigError: ``cls`` cannot be found again by name, e.g. it was defined inside a
            function.
    """
    name = f"{cls.__module__}.{cls.__qualname__}"
    try:
        found = lookup(name)
    except NameLookupError:
        found = None
    if found is not cls:
        raise ConfigError(
            f"retry_on: {cls!r} cannot be written by name because {name!r} does not import "
            "back to it; define the exception class at module level"
        )
    return name
