"""Hypothesis strategies shared by the test suite.

Times are multiples of 1/8 second: binary floating point adds and subtracts them exactly, so
tests can compare computed window bounds and deadlines with ``==``.
"""

from __future__ import annotations

from itertools import accumulate

from hypothesis import strategies as st

__all__ = ("eighths", "keys", "nondecreasing_times", "positive_eighths")


def eighths(min_value: float = 0.0, max_value: float = 100.0) -> st.SearchStrategy[float]:
    """Multiples of 1/8 in ``[min_value, max_value]``."""
    return st.integers(round(min_value * 8), round(max_value * 8)).map(lambda n: n / 8)


def positive_eighths(max_value: float = 20.0) -> st.SearchStrategy[float]:
    """Multiples of 1/8 in ``(0, max_value]``: window sizes, slides and gaps."""
    return eighths(0.125, max_value)


def nondecreasing_times(
    *, min_size: int = 0, max_size: int = 50, max_step: float = 6.0
) -> st.SearchStrategy[list[float]]:
    """Arrival times that never go back, as a clock reports them: sums of steps <= max_step."""
    return st.lists(eighths(0.0, max_step), min_size=min_size, max_size=max_size).map(
        lambda steps: list(accumulate(steps))
    )


def keys() -> st.SearchStrategy[str]:
    """A few distinct keys, so that keyed state is shared by several items."""
    return st.sampled_from(["a", "b", "c", "d"])
