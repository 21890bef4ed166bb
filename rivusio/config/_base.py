"""Loading and dumping shared by every config class."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from rivusio.config import _converter
from rivusio.core.exceptions import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

if TYPE_CHECKING:
    from collections.abc import Mapping

    from typing_extensions import Self


class ConfigBase:
    """``from_dict``, ``from_toml`` and ``to_dict`` for the attrs config classes."""

    __slots__ = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build a config from a mapping of its keys, checking every value.

        Nested configs may be given as mappings or as instances. Durations may be given
        as seconds or as :class:`~datetime.timedelta`.

        Args:
            data: The keys and values, e.g. a parsed TOML table or JSON object.

        Returns:
            The config.

        Raises:
            ConfigError: One line per problem in :attr:`~ConfigError.problems`, each
                ``path: problem (got value)``: values of the wrong type or out of range,
                unknown keys, missing required keys, at any depth.
        """
        return _converter.load(cls, data)

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str], *, table: str | None = None) -> Self:
        """Build a config from a TOML file.

        Args:
            path: The TOML file.
            table: Dotted path of the table holding the config, e.g. ``"rivusio.stream"``
                for ``[rivusio.stream]``; ``None`` for the top level of the file.

        Returns:
            The config.

        Raises:
            ConfigError: The file is not valid TOML, the table is missing or not a table,
                or any value is wrong; problem paths start with ``table``.
            OSError: The file cannot be read.
        """
        with open(path, "rb") as fp:
            try:
                data: Any = tomllib.load(fp)
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"{os.fspath(path)}: invalid TOML: {exc}") from exc
        if table is not None:
            walked: list[str] = []
            for part in table.split("."):
                walked.append(part)
                if part not in data:
                    raise ConfigError(
                        f"{'.'.join(walked)}: table missing from {os.fspath(path)!r}"
                    )
                data = data[part]
                if not isinstance(data, dict):
                    raise ConfigError(f"{'.'.join(walked)}: must be a table (got {data!r})")
        return _converter.load(cls, data, root=table or "")

    def to_dict(self) -> dict[str, Any]:
        """Return the config as plain values that :meth:`from_dict` reads back.

        Durations are written as float seconds, enums as their values, exception classes
        as ``"module.Name"`` strings and nested configs as dicts. ``None`` values are
        kept. ``from_dict(config.to_dict()) == config`` holds for every config whose
        fields all serialise (``StreamConfig.dead_letter`` is left out).

        Returns:
            A new dict.

        Raises:
            ConfigError: An exception class in ``retry_on`` cannot be found again by name.
        """
        return _converter.dump(self)
