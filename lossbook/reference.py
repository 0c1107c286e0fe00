"""High-precision references: each loss and its gradient evaluated in ``mpmath`` at 50 digits.

Used by the accuracy tests (``tests/test_accuracy.py``) to measure how many units in the last place
(ulp) lossbook's float64 results are from the exact value.  A reference takes one sample (plain
Python floats, or lists of them for a row) and returns ``(loss, [d loss / d y_pred ...])`` as mpmath
numbers.  ``mpmath`` is a test-time dependency; importing this module needs it.
"""
from __future__ import annotations

from typing import Callable

import mpmath as mp
import numpy as np

mp.mp.dps = 50

#: canonical loss name -> (reference function, the largest error allowed, in ulp, and why)
REFERENCES: dict[str, tuple[Callable, float, str]] = {}


def reference(name: str, *, max_ulp: float, why: str = "") -> Callable:
    def register(fn):
        REFERENCES[name] = (fn, max_ulp, why)
        return fn

    return register


def _row(x):
    return [mp.mpf(float(v)) for v in np.atleast_1d(x)]


@reference("mean_squared_error", max_ulp=4, why="one subtraction, one square, a mean over D")
def _mse(y_true, y_pred):
    t, p = _row(y_true), _row(y_pred)
    d = len(p)
    loss = mp.fsum((pi - ti) ** 2 for pi, ti in zip(p, t)) / d
    return loss, [2 * (pi - ti) / d for pi, ti in zip(p, t)]


def ulp_error(value: float, exact) -> float:
    """|value - exact| in units of the last place of the exact value (0 when both are 0)."""
    exact_f = float(exact)
    if exact == 0:
        return 0.0 if value == 0 else float("inf")
    spacing = np.spacing(abs(exact_f)) if exact_f != 0 else np.nextafter(0, 1)
    return float(abs(mp.mpf(float(value)) - exact) / mp.mpf(float(spacing)))
