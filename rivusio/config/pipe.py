"""The base class for a pipe's own settings."""

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

from rivusio.config import _checks
from rivusio.config._base import ConfigBase


@attrs.frozen(kw_only=True)
class PipeConfig(ConfigBase):
    """Settings of one pipe; subclass it with attrs fields for your pipe's own settings.

    A subclass is declared with ``@attrs.frozen(kw_only=True)`` and gets
    :meth:`from_dict`, :meth:`from_toml` and :meth:`to_dict` with the same checks as
    rivusio's own configs: unknown keys, missing required keys and values of the wrong
    type are all reported in one :class:`~rivusio.core.exceptions.ConfigError`::

        @attrs.frozen(kw_only=True)
        class DatabaseConfig(PipeConfig):
            host: str = "localhost"
            port: int = attrs.field(default=5432, validator=attrs.validators.gt(0))

        config = DatabaseConfig.from_dict({"name": "db", "host": "db.example.com"})

    Unknown keys are an error. A subclass that sets ``allow_extra: ClassVar[bool] =
    True`` keeps them instead, in :attr:`extras`; :meth:`to_dict` writes them back at the
    top level, so the round trip holds::

        @attrs.frozen(kw_only=True)
        class PluginConfig(PipeConfig):
            allow_extra: ClassVar[bool] = True

        config = PluginConfig.from_dict({"name": "p", "colour": "red"})
        assert config.extras == {"colour": "red"}

    Values of a subclass's own fields are loaded strictly: ``int`` takes ints only (not
    bools or strings), ``float`` ints or floats, ``str`` strings, ``bool`` booleans, and
    ``timedelta`` seconds or timedeltas. Validators from :mod:`attrs.validators` run as
    attrs runs them: constructing the class directly with a bad value raises attrs'
    own ``TypeError`` or ``ValueError``, while :meth:`from_dict` and :meth:`from_toml`
    report the failure as a ``ConfigError`` line. A subclass that defines
    ``__attrs_post_init__`` is free to raise ``ConfigError`` itself.

    Attributes:
        allow_extra: Class attribute; ``True`` keeps unknown keys in :attr:`extras`.
        name: Name of the pipe the settings belong to.
        description: Free text about the pipe's purpose.
        extras: Unknown keys kept by a subclass with ``allow_extra``, as a read-only
            mapping; always empty otherwise. Its keys may not repeat field names.

    Raises:
        ConfigError: A value is of the wrong type, or ``extras`` is given to a class that
            does not allow them.

    .. versionchanged:: 1.0
        An attrs class instead of a pydantic model; unknown keys are an error unless a
        subclass opts in with ``allow_extra``.
    """

    allow_extra: ClassVar[bool] = False

    name: str = attrs.field(default="default", validator=_checks.text())
    description: str = attrs.field(default="", validator=_checks.text())
    extras: Mapping[str, Any] = attrs.field(
        factory=_checks.FrozenMapping,
        converter=_checks.to_frozen_mapping,
        validator=_checks.extras(),
        hash=False,
        metadata={_checks.EXTRAS: True},
    )
