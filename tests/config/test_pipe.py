"""PipeConfig and its subclasses: own fields, strict loading, and the extras opt-in."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import timedelta
from typing import Any, ClassVar, cast

import attrs
import pytest

from rivusio.config import PipeConfig, RetryConfig
from rivusio.core.exceptions import ConfigError


@attrs.frozen(kw_only=True)
class DatabaseConfig(PipeConfig):
    """A pipe's settings with a required field and an attrs validator."""

    host: str
    port: int = attrs.field(default=5432, validator=attrs.validators.gt(0))
    ratio: float = 0.5
    verbose: bool = False
    timeout: timedelta = timedelta(seconds=30)
    tags: list[int] = attrs.field(factory=list)
    retry: RetryConfig | None = None


@attrs.frozen(kw_only=True)
class PluginConfig(PipeConfig):
    """A pipe's settings that keep unknown keys."""

    allow_extra: ClassVar[bool] = True

    level: int = 1


@attrs.frozen
class Endpoint:
    """A plain attrs class nested in a config."""

    url: str
    weight: int = 1


@dataclasses.dataclass(frozen=True)
class Limits:
    """A dataclass nested in a config."""

    rate: int = 10


@attrs.frozen(kw_only=True)
class ServiceConfig(PipeConfig):
    """A pipe's settings nesting a plain attrs class and a dataclass."""

    endpoint: Endpoint | None = None
    limits: Limits = Limits()


def _positive_even(instance: Any, attribute: attrs.Attribute[Any], value: int) -> None:
    if value % 2:
        raise ConfigError(f"{attribute.name}: must be even (got {value!r})")


def _needs_instance(instance: Any, attribute: attrs.Attribute[Any], value: int) -> None:
    if value > instance.limit:
        raise ValueError(f"must be <= limit (got {value!r})")


@attrs.frozen(kw_only=True)
class CheckedConfig(PipeConfig):
    """A pipe's settings with validators of every kind."""

    limit: int = 10
    even: int = attrs.field(default=2, validator=_positive_even)
    used: int = attrs.field(default=0, validator=_needs_instance)
    scaled: int = attrs.field(
        default=1, converter=int, validator=attrs.validators.instance_of(int)
    )


def test_defaults() -> None:
    """PipeConfig has rivusio 0.2.0's name and description, and no extras."""
    config = PipeConfig()
    assert config.name == "default"
    assert config.description == ""
    assert config.extras == {}
    assert PipeConfig.allow_extra is False


def test_020_keyword_construction() -> None:
    """name and description are keyword arguments, as in 0.2.0."""
    config = PipeConfig(name="processor", description="Processes data")
    assert (config.name, config.description) == ("processor", "Processes data")


def test_bad_base_values() -> None:
    """The base fields are checked like any other config's."""
    with pytest.raises(ConfigError) as caught:
        PipeConfig(name=1, description=None)  # type: ignore[arg-type]
    assert caught.value.problems == (
        "name: must be a string (got 1)",
        "description: must be a string (got None)",
    )


def test_subclass_from_dict() -> None:
    """A subclass loads its own fields, strictly typed, with defaults filled in."""
    config = DatabaseConfig.from_dict(
        {
            "name": "db",
            "host": "db.example.com",
            "ratio": 1,
            "timeout": 2.5,
            "tags": [1, 2],
            "retry": {"attempts": 2},
        }
    )
    assert config == DatabaseConfig(
        name="db",
        host="db.example.com",
        ratio=1.0,
        timeout=timedelta(seconds=2.5),
        tags=[1, 2],
        retry=RetryConfig(attempts=2),
    )


def test_subclass_missing_and_unknown_keys() -> None:
    """Missing required keys and unknown keys are named, with the opt-in as the fix."""
    with pytest.raises(ConfigError) as caught:
        DatabaseConfig.from_dict({"hots": "x", "colour": "red"})
    assert caught.value.problems == (
        "host: required key missing",
        "hots: unknown key; did you mean 'host'?",
        (
            "colour: unknown key (valid keys: name, description, extras, host, port, ratio, "
            "verbose, timeout, tags, retry); to keep extra keys, set "
            "`allow_extra: ClassVar[bool] = True` on a subclass of DatabaseConfig"
        ),
    )


def test_subclass_strict_types() -> None:
    """Subclass fields take only values of their type; list elements are checked by index."""
    with pytest.raises(ConfigError) as caught:
        DatabaseConfig.from_dict(
            {
                "host": 5,
                "port": "5432",
                "ratio": "half",
                "verbose": "yes",
                "timeout": "30s",
                "tags": [1, "2", True],
            }
        )
    assert caught.value.problems == (
        "host: must be a string (got 5)",
        "port: must be an integer (got '5432')",
        "ratio: must be a number (got 'half')",
        "verbose: must be a boolean (got 'yes')",
        "timeout: must be a number of seconds or a timedelta (got '30s')",
        "tags[1]: must be an integer (got '2')",
        "tags[2]: must be an integer (got True)",
    )


def test_subclass_nested_config_problems() -> None:
    """A nested rivusio config inside a subclass reports its own paths."""
    with pytest.raises(ConfigError) as caught:
        DatabaseConfig.from_dict({"host": "h", "retry": {"attempts": 0, "bogus": 1}})
    assert caught.value.problems == (
        "retry.attempts: must be >= 1 (got 0)",
        (
            "retry.bogus: unknown key (valid keys: attempts, delay, backoff, max_delay, jitter, "
            "retry_on)"
        ),
    )


def test_subclass_nested_config_instance() -> None:
    """A nested config given as an instance is kept as is."""
    retry = RetryConfig(attempts=4)
    assert DatabaseConfig.from_dict({"host": "h", "retry": retry}).retry is retry


def test_attrs_validator_from_dict_gets_a_path() -> None:
    """An attrs.validators failure is reported at its field by from_dict."""
    with pytest.raises(ConfigError) as caught:
        DatabaseConfig.from_dict({"host": "h", "port": 0})
    assert caught.value.problems == ("port: 'port' must be > 0: 0",)


def test_attrs_validator_direct_construction() -> None:
    """Constructing a subclass directly lets attrs' own validator error through."""
    with pytest.raises(ValueError, match=r"^'port' must be > 0: 0$"):
        DatabaseConfig(host="h", port=0)


def test_rivusio_check_failing_first_lists_subclass_validators_too() -> None:
    """When a rivusio check fails, every field is re-checked, subclass validators included."""
    with pytest.raises(ConfigError) as caught:
        CheckedConfig(name=3, even=3, used=11)  # type: ignore[arg-type]
    assert caught.value.problems == (
        "name: must be a string (got 3)",
        "even: must be even (got 3)",
        "used: must be <= limit (got 11)",
    )


def test_validator_needing_the_instance_runs_in_init() -> None:
    """A validator that reads the instance is left to __init__ and reported at the class."""
    with pytest.raises(ConfigError) as caught:
        CheckedConfig.from_dict({"used": 11})
    assert caught.value.problems == ("CheckedConfig: must be <= limit (got 11)",)


def test_validator_raising_config_error() -> None:
    """A subclass validator may raise ConfigError itself; from_dict keeps its lines."""
    with pytest.raises(ConfigError) as caught:
        CheckedConfig.from_dict({"even": 5})
    assert caught.value.problems == ("even: must be even (got 5)",)


def test_field_with_converter_is_checked_in_init() -> None:
    """A subclass field with its own converter is converted and checked by __init__."""
    assert CheckedConfig.from_dict({"scaled": 2.7}).scaled == 2
    with pytest.raises(ConfigError) as caught:
        CheckedConfig.from_dict({"scaled": "x"})
    assert caught.value.problems == ("CheckedConfig: invalid literal for int() with base 10: 'x'",)


def test_post_init_errors_are_reported() -> None:
    """Errors from a subclass's __attrs_post_init__ are reported at the class."""

    @attrs.frozen(kw_only=True)
    class Pair(PipeConfig):
        low: int = 0
        high: int = 1

        def __attrs_post_init__(self) -> None:
            if self.low > self.high:
                raise ConfigError(f"low: must be <= high (got {self.low!r})")
            if self.low == self.high:
                raise RuntimeError

    with pytest.raises(ConfigError) as caught:
        Pair.from_dict({"low": 2})
    assert caught.value.problems == ("low: must be <= high (got 2)",)
    with pytest.raises(ConfigError) as caught:
        Pair.from_dict({"low": 1, "high": 1})
    assert caught.value.problems == ("Pair: RuntimeError",)


def test_untyped_field_passes_values_through() -> None:
    """A field without a type annotation takes any value."""
    # make_class builds the class at run time; mypy knows it only as a PipeConfig subclass.
    loose = cast(
        "type[PipeConfig]",
        attrs.make_class(
            "Loose", {"anything": attrs.field(default=None)}, bases=(PipeConfig,), kw_only=True
        ),
    )
    loaded: Any = loose.from_dict({"anything": {"a": [1]}})
    assert loaded.anything == {"a": [1]}


def test_nested_plain_attrs_and_dataclass() -> None:
    """Plain attrs classes and dataclasses nested in a config are loaded strictly too."""
    config = ServiceConfig.from_dict({"endpoint": {"url": "http://x"}, "limits": {"rate": 3}})
    assert config.endpoint == Endpoint(url="http://x")
    assert config.limits == Limits(rate=3)
    with pytest.raises(ConfigError) as caught:
        ServiceConfig.from_dict(
            {"endpoint": {"url": 1, "wieght": 2}, "limits": {"rate": 1, "burst": 2}}
        )
    assert caught.value.problems == (
        "endpoint.url: must be a string (got 1)",
        "endpoint.wieght: unknown key; did you mean 'weight'?",
        "limits.burst: unknown key",
    )
    assert ServiceConfig.from_dict(config.to_dict()) == config


def test_non_string_unknown_key() -> None:
    """A non-string key is reported as unknown."""
    with pytest.raises(ConfigError) as caught:
        PipeConfig.from_dict({1: "x"})  # type: ignore[dict-item]
    assert caught.value.problems == (
        (
            "1: unknown key (valid keys: name, description, extras); to keep extra keys, set "
            "`allow_extra: ClassVar[bool] = True` on a subclass of PipeConfig"
        ),
    )


def test_extras_opt_in_keeps_unknown_keys() -> None:
    """A subclass with allow_extra keeps unknown keys in a read-only extras mapping."""
    config = PluginConfig.from_dict({"name": "p", "level": 2, "colour": "red", "size": [1]})
    assert config.extras == {"colour": "red", "size": [1]}
    assert config.level == 2
    with pytest.raises(TypeError):
        config.extras["colour"] = "blue"  # type: ignore[index]


def test_extras_round_trip_at_top_level() -> None:
    """to_dict writes extras back at the top level, and from_dict reads them back."""
    config = PluginConfig(name="p", extras={"colour": "red"})
    assert config.to_dict() == {"name": "p", "description": "", "level": 1, "colour": "red"}
    assert PluginConfig.from_dict(config.to_dict()) == config
    assert hash(config) == hash(PluginConfig(name="p", extras={"colour": "blue"}))


def test_extras_key_merges_with_unknown_keys() -> None:
    """An explicit extras mapping and unknown keys are merged."""
    config = PluginConfig.from_dict({"extras": {"a": 1}, "b": 2})
    assert config.extras == {"a": 1, "b": 2}


def test_extras_problems() -> None:
    """extras must be a mapping with string keys that are not field names."""
    with pytest.raises(ConfigError) as caught:
        PluginConfig(extras={"level": 3, 4: "x"})
    assert caught.value.problems == (
        "extras: 'level' is a field of PluginConfig; pass level= instead",
        "extras: keys must be strings (got 4)",
    )
    with pytest.raises(ConfigError) as caught:
        PluginConfig.from_dict({"extras": 5, "b": 2})
    assert caught.value.problems == ("extras: must be a mapping of extra keys (got 5)",)


def test_extras_refused_without_opt_in() -> None:
    """A class without allow_extra refuses extras, naming the opt-in."""
    with pytest.raises(ConfigError) as caught:
        PipeConfig(extras={"a": 1})
    assert caught.value.problems == (
        (
            "extras: PipeConfig keeps no extra keys (got {'a': 1}); set "
            "`allow_extra: ClassVar[bool] = True` on a subclass to keep them"
        ),
    )


def test_subclass_round_trip() -> None:
    """A subclass round-trips through to_dict and from_dict."""
    config = DatabaseConfig(
        host="h", port=1, timeout=timedelta(minutes=1), tags=[3], retry=RetryConfig()
    )
    assert config.to_dict()["timeout"] == 60.0
    assert DatabaseConfig.from_dict(config.to_dict()) == config


def test_configs_pickle() -> None:
    """Configs pickle (for process pools), extras and nested configs included."""
    configs = [
        PluginConfig(name="p", extras={"colour": "red"}),
        DatabaseConfig(host="h", retry=RetryConfig(retry_on=[TimeoutError])),
        PipeConfig(),
    ]
    for config in configs:
        assert pickle.loads(pickle.dumps(config)) == config
    assert repr(configs[0].extras) == "{'colour': 'red'}"
