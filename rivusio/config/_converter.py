"""The one cattrs converter behind ``from_dict``, ``from_toml`` and ``to_dict``.

Loading an attrs class goes field by field, so that one pass finds every problem: values
that fail their field's check, nested tables with problems of their own, unknown keys and
missing required keys. Each problem is an exception carrying a cattrs validation note,
collected into a :class:`cattrs.ClassValidationError`; :func:`cattrs.transform_error`
turns the tree into paths, and :func:`load` raises one
:class:`~rivusio.core.exceptions.ConfigError` listing them all.

Primitive fields of user subclasses are strict: an ``int`` field takes only ints (not
bools, not strings), a ``float`` field ints or floats, a ``str`` field strings and a
``bool`` field booleans.
"""

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.errors import AttributeValidationNote, ClassValidationError, ForbiddenExtraKeysError
from cattrs.gen import make_dict_unstructure_fn, override

from rivusio.config import _checks
from rivusio.core.exceptions import ConfigError

T = TypeVar("T")

CONVERTER = cattrs.Converter(forbid_extra_keys=True)


class Invalid(ValueError):
    """One problem found while loading, at ``subpath`` below the field it is noted on."""

    def __init__(self, message: str, subpath: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.subpath = subpath


def _note(exc: Exception, cls: type, name: str, type_: Any) -> Exception:
    note = AttributeValidationNote(f"Structuring class {cls.__qualname__} @ {name}", name, type_)
    # What add_note() does on 3.11+, spelled so that it runs on 3.10 as well.
    exc.__notes__ = [*getattr(exc, "__notes__", []), note]  # type: ignore[attr-defined]
    return exc


# Strict primitives, for fields that have no rivusio check (fields of user subclasses).


def _strict_int(value: Any, _: type) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise Invalid(f"must be an integer {_checks.got(value)}")


def _strict_float(value: Any, _: type) -> float:
    if _checks.is_real(value):
        return float(value)
    raise Invalid(f"must be a number {_checks.got(value)}")


def _strict_str(value: Any, _: type) -> str:
    if isinstance(value, str):
        return value
    raise Invalid(f"must be a string {_checks.got(value)}")


def _strict_bool(value: Any, _: type) -> bool:
    if isinstance(value, bool):
        return value
    raise Invalid(f"must be a boolean {_checks.got(value)}")


def _timedelta(value: Any, _: type) -> timedelta:
    converted = _checks.to_timedelta(value)
    if isinstance(converted, timedelta):
        return converted
    raise Invalid(f"must be a number of seconds or a timedelta {_checks.got(value)}")


CONVERTER.register_structure_hook(int, _strict_int)
CONVERTER.register_structure_hook(float, _strict_float)
CONVERTER.register_structure_hook(str, _strict_str)
CONVERTER.register_structure_hook(bool, _strict_bool)
CONVERTER.register_structure_hook(timedelta, _timedelta)
CONVERTER.register_unstructure_hook(timedelta, timedelta.total_seconds)


def _unknown_key(key: Any, names: list[str], cls: type) -> str:
    message = "unknown key"
    if isinstance(key, str) and (hint := _checks.did_you_mean(key, names)):
        return message + hint
    message += f" (valid keys: {', '.join(names)})"
    if any(f.metadata.get(_checks.EXTRAS) for f in attrs.fields(cls)):
        message += (
            f"; to keep extra keys, set `allow_extra: ClassVar[bool] = True` on a "
            f"subclass of {cls.__name__}"
        )
    return message


def _structure_factory(cls: type[Any]) -> Callable[[Any, type], Any]:
    attrs.resolve_types(cls)
    fields = [f for f in attrs.fields(cls) if f.init]
    names = [f.name for f in fields]
    extras_field = next((f for f in fields if f.metadata.get(_checks.EXTRAS)), None)
    # Where unknown keys go when the class opts in; None makes them errors.
    keep_extra_in = extras_field if getattr(cls, "allow_extra", False) else None

    def structure_field(raw: Any, field: "attrs.Attribute[Any]") -> Any:
        check = field.validator if isinstance(field.validator, _checks.Check) else None
        if check is not None and check.nested is not None and isinstance(raw, Mapping):
            return CONVERTER.structure(raw, check.nested)
        # A rivusio check judges the raw value, and a field with a converter takes what its
        # converter takes (as cattrs' prefer_attrib_converters does), so both pass through.
        if check is not None or field.converter is not None or field.type is None:
            return raw
        return CONVERTER.structure(raw, field.type)

    def problems(value: Any, field: "attrs.Attribute[Any]") -> list[Exception]:
        validator = field.validator
        if validator is None:
            return []
        converter = field.converter
        if isinstance(validator, _checks.Check):
            if callable(converter) and not isinstance(converter, attrs.Converter):
                value = converter(value)
            return [
                _note(Invalid(message, sub), cls, field.name, field.type)
                for sub, message in validator.problems(value, cls)
            ]
        if converter is not None:
            return []
        # A validator of a user subclass is tried on the value alone, so that its failure
        # gets the field's path. One that needs the instance fails here with some other
        # error and is left to __init__.
        try:
            validator(None, field, value)
        except ConfigError as exc:
            return [exc]
        except (TypeError, ValueError) as exc:
            return [_note(Invalid(str(exc)), cls, field.name, field.type)]
        except Exception:  # the validator needs the instance; __init__ runs it
            return []
        return []

    def structure(data: Any, _: type) -> Any:
        if isinstance(data, cls):
            return data
        if not isinstance(data, Mapping):
            raise Invalid(f"must be a mapping (a TOML table) {_checks.got(data)}")
        errors: list[Exception] = []
        kwargs: dict[str, Any] = {}
        for field in fields:
            if field.name not in data:
                if field.default is attrs.NOTHING:
                    errors.append(_note(Invalid("required key missing"), cls, field.name, None))
                continue
            try:
                value = structure_field(data[field.name], field)
            except Exception as exc:  # every failure is reported at its path
                errors.append(_note(exc, cls, field.name, field.type))
                continue
            errors.extend(problems(value, field))
            kwargs[field.alias] = value
        unknown = [key for key in data if key not in names]
        if unknown and keep_extra_in is not None:
            given = kwargs.get(keep_extra_in.alias)
            base = dict(given) if isinstance(given, Mapping) else {}
            kwargs[keep_extra_in.alias] = {**base, **{key: data[key] for key in unknown}}
        elif unknown:
            errors.extend(
                _note(Invalid(_unknown_key(key, names, cls)), cls, str(key), None)
                for key in unknown
            )
        if errors:
            raise ClassValidationError(f"While structuring {cls.__qualname__}", errors, cls)
        try:
            return cls(**kwargs)
        except Exception as exc:
            raise ClassValidationError(
                f"While structuring {cls.__qualname__}", [exc], cls
            ) from None

    return structure


def _unstructure_factory(cls: type[Any]) -> Callable[[Any], dict[str, Any]]:
    attrs.resolve_types(cls)
    overrides: dict[str, Any] = {}
    extras_name = None
    for field in attrs.fields(cls):
        if field.metadata.get(_checks.NOT_SERIALISED):
            overrides[field.name] = override(omit=True)
        elif (write := field.metadata.get(_checks.WRITE)) is not None:
            overrides[field.name] = override(unstruct_hook=write)
        if field.metadata.get(_checks.EXTRAS):
            extras_name = field.name
    unstructure = make_dict_unstructure_fn(cls, CONVERTER, **overrides)
    if extras_name is None:
        return unstructure

    def with_extras(inst: Any) -> dict[str, Any]:
        out = unstructure(inst)
        out.update(out.pop(extras_name))
        return out

    return with_extras


CONVERTER.register_structure_hook_factory(attrs.has, _structure_factory)
CONVERTER.register_unstructure_hook_factory(attrs.has, _unstructure_factory)


def _lines(exc: BaseException, path: str, label: str) -> list[str]:
    """Turn one collected problem at ``path`` into lines; ``label`` names an empty path."""
    if isinstance(exc, Invalid):
        return [f"{_checks.join(path, exc.subpath) or label}: {exc.message}"]
    if isinstance(exc, ConfigError):
        return [_checks.join(path, problem) for problem in exc.problems]
    if isinstance(exc, ForbiddenExtraKeysError):
        return [f"{_checks.join(path, key)}: unknown key" for key in sorted(exc.extra_fields)]
    text = " ".join(str(exc).split()) or type(exc).__name__
    return [f"{path or label}: {text}"]


def load(cls: type[T], data: Any, *, root: str = "") -> T:
    """Build ``cls`` from ``data``; raise one ConfigError listing every problem.

    Args:
        cls: The attrs class to build.
        data: A mapping of its keys (nested mappings for nested config classes).
        root: Path prefix for the problems, e.g. the TOML table the data came from.

    Raises:
        ConfigError: Each line is ``path: problem``.
    """
    try:
        return CONVERTER.structure(data, cls)
    except (ClassValidationError, Invalid) as exc:
        found: list[BaseException] = []

        def remember(error: BaseException, _: Any) -> str:
            found.append(error)
            return str(len(found) - 1)

        lines: list[str] = []
        for entry in cattrs.transform_error(exc, path="", format_exception=remember):
            index, _, path = entry.partition(" @ ")
            lines.extend(
                _lines(
                    found[int(index)], _checks.join(root, path.lstrip(".")), root or cls.__name__
                )
            )
        # Hide cattrs' exception tree: every problem is in the ConfigError's lines.
        raise ConfigError(lines) from None


def dump(inst: Any) -> dict[str, Any]:
    """Return ``inst`` as a dict of plain values (see each class's ``to_dict``)."""
    out: dict[str, Any] = CONVERTER.unstructure(inst)
    return out
