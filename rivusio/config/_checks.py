"""Field checks and converters shared by the config classes.

A :class:`Check` is an attrs validator. When one fails during ``__init__`` it re-checks
every field of the instance (attrs has set them all by the time validators run), so the
:class:`~rivusio.core.exceptions.ConfigError` lists every bad field, not only the first.
The loader calls :meth:`Check.problems` directly to report bad values next to unknown or
missing keys.

Problems are ``(subpath, message)`` pairs: ``subpath`` is ``""`` for the field itself or
``"[i]"`` for an element of it.
"""

import difflib
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import timedelta
from typing import Any

import anyio.abc
import attrs

from rivusio.config import _names
from rivusio.core.exceptions import ConfigError

Problems = list[tuple[str, str]]

#: Field metadata key: leave the field out of ``to_dict()``.
NOT_SERIALISED = "rivusio.not_serialised"
#: Field metadata key: a function that writes the field's value in ``to_dict()``.
WRITE = "rivusio.write"
#: Field metadata key: the field holds the unknown keys of a subclass that opts in.
EXTRAS = "rivusio.extras"


def got(value: Any) -> str:
    """Return the ``(got ...)`` tail of a message."""
    return f"(got {value!r})"


def join(path: str, sub: str) -> str:
    """Append a field name or an ``[i]`` index to a dotted path."""
    if not path:
        return sub
    if not sub:
        return path
    return f"{path}{sub}" if sub.startswith("[") else f"{path}.{sub}"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for a close match, else ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.65)
    return f"; did you mean {close[0]!r}?" if close else ""


@attrs.frozen
class Check:
    """An attrs validator that reports every bad field of the instance when it fails."""

    #: Returns the problems of a value for a field of the given class.
    fn: Callable[[Any, type], Problems]
    #: The config class of a nested field: a mapping in the input is loaded as this class.
    nested: type | None = None

    def problems(self, value: Any, owner: type) -> Problems:
        """Return what is wrong with ``value`` for a field of ``owner``."""
        return self.fn(value, owner)

    def __call__(self, inst: Any, attribute: "attrs.Attribute[Any]", value: Any) -> None:
        if self.problems(value, type(inst)):
            raise ConfigError(sweep(inst))


def sweep(inst: Any) -> list[str]:
    """Check every field of ``inst``; return one ``"path: message"`` line per problem."""
    cls = type(inst)
    lines: list[str] = []
    for field in attrs.fields(cls):
        validator = field.validator
        if validator is None:
            continue
        value = getattr(inst, field.name)
        if isinstance(validator, Check):
            lines.extend(
                f"{join(field.name, sub)}: {message}"
                for sub, message in validator.problems(value, cls)
            )
            continue
        try:
            validator(inst, field, value)
        except ConfigError as exc:
            lines.extend(exc.problems)
        except (TypeError, ValueError) as exc:
            lines.append(f"{field.name}: {exc}")
    return lines


def is_real(value: Any) -> bool:
    """Tell whether ``value`` is an int or a float (``bool`` is not a number here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_finite(value: float) -> bool:
    """Tell whether a number is finite as a float (an int too large for one is not)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


# Converters run inside attrs' __init__ before the checks. They never raise: a value they
# cannot convert is kept as given, and the field's check reports it.


def to_float(value: float) -> Any:
    """Turn an int into a float; keep anything else as given."""
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:
            return value
    return value


def to_seconds(value: float | timedelta) -> Any:
    """Turn a timedelta or an int into float seconds; keep anything else as given."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    return to_float(value)


def to_optional_seconds(value: float | timedelta | None) -> Any:
    """Like :func:`to_seconds`, passing ``None`` through."""
    return None if value is None else to_seconds(value)


def to_timedelta(value: timedelta | float) -> Any:
    """Turn float or int seconds into a timedelta; keep anything else as given."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and is_finite(value):
        try:
            return timedelta(seconds=value)
        except OverflowError:
            return value
    return value


def to_exception_classes(value: Any) -> Any:
    """Turn one class or name, or an iterable of them, into a tuple; resolve names."""

    def one(item: Any) -> Any:
        if isinstance(item, str):
            try:
                return _names.exception_class(item)
            except _names.NameLookupError:
                return item
        return item

    if isinstance(value, (str, type)):
        return (one(value),)
    if isinstance(value, (list, tuple)):
        return tuple(one(item) for item in value)
    return value


class FrozenMapping(Mapping[str, Any]):
    """A read-only copy of a mapping that, unlike ``MappingProxyType``, pickles."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        self._data = dict(data) if data is not None else {}

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return repr(self._data)

    def __reduce__(self) -> tuple[type["FrozenMapping"], tuple[dict[str, Any]]]:
        return (FrozenMapping, (self._data,))


def to_frozen_mapping(value: Any) -> Any:
    """Copy a mapping into a :class:`FrozenMapping`; keep anything else as given."""
    if isinstance(value, Mapping):
        return FrozenMapping(value)
    return value


# Checks.


def _bounds(minimum: float | None, above: float | None, maximum: float | None) -> str:
    parts = []
    if minimum is not None:
        parts.append(f">= {minimum}")
    if above is not None:
        parts.append(f"> {above}")
    if maximum is not None:
        parts.append(f"<= {maximum}")
    return " and ".join(parts)


def integer(*, minimum: int, optional: bool = False) -> Check:
    """Check for an int (not a bool) that is ``>= minimum``, or ``None`` if optional."""

    def check(value: Any, owner: type) -> Problems:
        if value is None and optional:
            return []
        if not isinstance(value, int) or isinstance(value, bool):
            kind = "an integer or None" if optional else "an integer"
            return [("", f"must be {kind} {got(value)}")]
        if value < minimum:
            return [("", f"must be >= {minimum} {got(value)}")]
        return []

    return Check(check)


def number(
    *,
    minimum: float | None = None,
    above: float | None = None,
    maximum: float | None = None,
    hint: str = "",
) -> Check:
    """Check for a finite number within the given bounds; ``hint`` follows a too-large one."""

    def check(value: Any, owner: type) -> Problems:
        if not is_real(value):
            return [("", f"must be a number {got(value)}")]
        if not is_finite(value):
            return [("", f"must be finite {got(value)}")]
        if (
            (minimum is not None and value < minimum)
            or (above is not None and value <= above)
            or (maximum is not None and value > maximum)
        ):
            message = f"must be {_bounds(minimum, above, maximum)} {got(value)}"
            if hint and maximum is not None and value > maximum:
                message += f"; {hint}"
            return [("", message)]
        return []

    return Check(check)


def duration(*, positive: bool = False, optional: bool = False) -> Check:
    """Check for finite float seconds, ``>= 0`` (``> 0`` if positive), or ``None``."""

    def check(value: Any, owner: type) -> Problems:
        if value is None and optional:
            return []
        if not is_real(value):
            kind = (
                "a number of seconds, a timedelta or None"
                if optional
                else ("a number of seconds or a timedelta")
            )
            return [("", f"must be {kind} {got(value)}")]
        if not is_finite(value):
            return [("", f"must be finite {got(value)}")]
        if positive and value <= 0:
            return [("", f"must be > 0 {got(value)}")]
        if value < 0:
            return [("", f"must be >= 0 {got(value)}")]
        return []

    return Check(check)


def window() -> Check:
    """Check for a timedelta ``>= 0`` (the converter has turned seconds into one)."""

    def check(value: Any, owner: type) -> Problems:
        if isinstance(value, timedelta):
            if value < timedelta(0):
                return [("", f"must be >= 0 {got(value)}")]
            return []
        if is_real(value) and not is_finite(value):
            return [("", f"must be finite {got(value)}")]
        if is_real(value):
            return [("", f"must be at most timedelta.max in seconds {got(value)}")]
        return [("", f"must be a number of seconds or a timedelta {got(value)}")]

    return Check(check)


def boolean() -> Check:
    """Check for ``True`` or ``False``."""

    def check(value: Any, owner: type) -> Problems:
        if isinstance(value, bool):
            return []
        return [("", f"must be a boolean {got(value)}")]

    return Check(check)


def text(*, optional: bool = False) -> Check:
    """Check for a string, or ``None`` if optional."""

    def check(value: Any, owner: type) -> Problems:
        if isinstance(value, str) or (value is None and optional):
            return []
        kind = "a string or None" if optional else "a string"
        return [("", f"must be {kind} {got(value)}")]

    return Check(check)


def choice(values: Iterable[str], *, optional: bool = False) -> Check:
    """Check for one of ``values``, or ``None`` if optional."""
    allowed = tuple(values)

    def check(value: Any, owner: type) -> Problems:
        if (value is None and optional) or (isinstance(value, str) and value in allowed):
            return []
        listed = ", ".join(repr(v) for v in allowed) + (" or None" if optional else "")
        message = f"must be one of {listed} {got(value)}"
        if isinstance(value, str):
            message += did_you_mean(value, allowed)
        return [("", message)]

    return Check(check)


def nested(cls: type) -> Check:
    """Check for an instance of the config class ``cls`` or ``None``."""

    def check(value: Any, owner: type) -> Problems:
        if value is None or isinstance(value, cls):
            return []
        return [("", f"must be a {cls.__name__}, a mapping of its keys, or None {got(value)}")]

    return Check(check, nested=cls)


def sink() -> Check:
    """Check for a dead-letter sink: a callable, a list or an anyio send stream."""

    def check(value: Any, owner: type) -> Problems:
        if value is None or isinstance(value, (list, anyio.abc.ObjectSendStream)):
            return []
        if callable(value):
            return []
        return [("", f"must be a callable, a list or an anyio object send stream {got(value)}")]

    return Check(check)


def exception_classes() -> Check:
    """Check for a tuple of subclasses of :class:`Exception`."""

    def check(value: Any, owner: type) -> Problems:
        if not isinstance(value, tuple):
            return [
                (
                    "",
                    (
                        "must be an exception class, a name such as 'builtins.TimeoutError', "
                        f"or a list of them {got(value)}"
                    ),
                )
            ]
        out: Problems = []
        for index, item in enumerate(value):
            sub = f"[{index}]"
            if isinstance(item, str):
                try:
                    _names.exception_class(item)
                except _names.NameLookupError as exc:
                    out.append((sub, f"{exc} {got(item)}"))
            elif isinstance(item, type) and issubclass(item, Exception):
                continue
            elif isinstance(item, type) and issubclass(item, BaseException):
                out.append(
                    (
                        sub,
                        (
                            f"must be a subclass of Exception {got(item)}; interrupts and "
                            "cancellation are never retried"
                        ),
                    )
                )
            else:
                out.append(
                    (
                        sub,
                        (
                            "must be an exception class or its name, such as "
                            f"'builtins.TimeoutError' {got(item)}"
                        ),
                    )
                )
        return out

    return Check(check)


def enum_member(enum: type[Any]) -> Check:
    """Check for a member of ``enum`` (the converter has turned values into members)."""

    def check(value: Any, owner: type) -> Problems:
        if isinstance(value, enum):
            return []
        listed = ", ".join(repr(member.value) for member in enum)
        message = f"must be one of {listed} {got(value)}"
        if isinstance(value, str):
            message += did_you_mean(value, [member.value for member in enum])
        return [("", message)]

    return Check(check)


def extras() -> Check:
    """Check ``PipeConfig.extras``: empty unless the class sets ``allow_extra``."""

    def check(value: Any, owner: type) -> Problems:
        if not isinstance(value, Mapping):
            return [("", f"must be a mapping of extra keys {got(value)}")]
        if not value:
            return []
        if not getattr(owner, "allow_extra", False):
            return [
                (
                    "",
                    (
                        f"{owner.__name__} keeps no extra keys {got(dict(value))}; set "
                        "`allow_extra: ClassVar[bool] = True` on a subclass to keep them"
                    ),
                )
            ]
        names = {f.name for f in attrs.fields(owner)}
        out: Problems = []
        for key in value:
            if not isinstance(key, str):
                out.append(("", f"keys must be strings {got(key)}"))
            elif key in names:
                out.append(("", f"{key!r} is a field of {owner.__name__}; pass {key}= instead"))
        return out

    return Check(check)
