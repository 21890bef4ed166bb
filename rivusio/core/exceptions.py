"""Exceptions raised by rivusio.

The tree::

    Exception
     ├── PipeError                 a pipe failed; ``.pipe`` and ``.error`` name what and why
     │    ├── PipelineError        a pipe inside a pipeline failed; names the failing stage
     │    └── StreamError          a running stream stopped; ``.stage``, ``.item``, ``__cause__``
     └── ValueError
          └── ConfigError          a configuration value is wrong; lists every bad field

Every error policy in rivusio catches :class:`Exception`, never :class:`BaseException`, so
cancellation, :class:`KeyboardInterrupt` and :class:`SystemExit` always pass through.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ("ConfigError", "PipeError", "PipelineError", "StreamError")


class PipeError(Exception):
    """A pipe failed to process an item.

    Two spellings are accepted::

        PipeError("Division by zero: ...")     # a message, as in the user guide
        PipeError(pipe, error)                 # rivusio 0.2.0: the pipe and the cause

    Attributes:
        pipe: The pipe (or its name) that failed, when known.
        error: The underlying exception, when known.
    """

    pipe: Any
    error: BaseException | None

    def __init__(self, pipe_or_message: Any = None, error: BaseException | None = None) -> None:
        if error is None and (pipe_or_message is None or isinstance(pipe_or_message, str)):
            self.pipe = None
            self.error = None
            message = pipe_or_message or ""
        else:
            self.pipe = pipe_or_message
            self.error = error
            name = getattr(pipe_or_message, "name", pipe_or_message)
            message = f"pipe {name!s}: {error!r}" if error is not None else f"pipe {name!s} failed"
        super().__init__(message)

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __reduce__(self) -> tuple[Any, ...]:
        # The constructors take other arguments than they store in `args`, so pickling
        # (for instance across a worker process) rebuilds from the stored state instead.
        return (_rebuild, (type(self), self.args, self.__dict__))


class PipelineError(PipeError):
    """A pipe inside a pipeline failed.

    ``.pipe`` is the failing pipe, ``.stage`` its name, and the original exception is both
    ``.error`` and ``__cause__``.
    """

    def __init__(self, pipe: Any, error: BaseException) -> None:
        super().__init__(pipe, error)
        self.stage: str = str(getattr(pipe, "name", pipe))
        self.args = (f"stage {self.stage!r}: {type(error).__name__}: {error}",)


class StreamError(PipeError):
    """A running stream stopped because a stage, the source or a sink failed.

    This is what the consumer of a stream sees; the original exception is ``__cause__``.

    Attributes:
        stage: Name of the stage that failed (for fused per-item steps, the name of the pipe
            that raised; ``"source"`` when the source itself raised).
        item: The input of that stage when known, else ``None``.
        others: Further failures that happened at the same time, each a ``StreamError``.
    """

    def __init__(
        self,
        stage: str,
        error: BaseException,
        *,
        item: Any = None,
        others: Sequence[StreamError] = (),
    ) -> None:
        super().__init__(stage, error)
        self.stage = stage
        self.item = item
        self.others: tuple[StreamError, ...] = tuple(others)
        text = f"stage {stage!r} failed: {type(error).__name__}: {error}"
        if others:
            text += f" (and {len(others)} more failure(s): "
            text += ", ".join(f"{o.stage!r}" for o in others) + ")"
        self.args = (text,)


def _rebuild(cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class ConfigError(ValueError):
    """A configuration value is invalid.

    The message lists every bad field as ``path: problem (got value)``, one per line; the
    same lines are in :attr:`problems`.
    """

    def __init__(self, problems: str | Sequence[str]) -> None:
        self.problems: tuple[str, ...] = (
            (problems,) if isinstance(problems, str) else tuple(problems)
        )
        super().__init__("\n".join(self.problems))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, self.__dict__))
