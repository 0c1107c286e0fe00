"""Check a reader's own version of a loss (or of its gradient) against lossbook's.

>>> import numpy as np, lossbook as lb
>>> mine = lambda y_true, y_pred: np.mean((y_pred - y_true) ** 2)
>>> lb.check(mine, "mean_squared_error", verbose=False)
True
"""
from __future__ import annotations

import numpy as np

from .core import LOSSES, Loss
from .testing import extreme_inputs, sample_inputs


def _cases(loss: Loss, hyper: dict):
    for seed, ndim in enumerate(loss.ndims * 2):
        yield f"random input {seed + 1} (y_pred of shape {sample_inputs(loss, hyper, ndim, seed)[1].shape})", \
            *sample_inputs(loss, hyper, ndim, seed)
    yt, yp = sample_inputs(loss, hyper, loss.ndims[-1], seed=99, n=1)
    yield "a single sample", yt, yp
    for ndim in loss.ndims:
        for yt, yp, _ in extreme_inputs(loss, hyper, ndim):
            yield f"extreme input (y_pred up to {np.max(np.abs(yp)):g})", yt, yp


def check(candidate, loss, *, what: str = "value", rtol: float = 1e-9, atol: float = 1e-12, verbose: bool = True,
          hint: str | None = None, **hyper) -> bool:
    """Compare ``candidate(y_true, y_pred)`` with lossbook's ``loss`` on random and extreme input.

    ``what="value"`` compares with the mean loss (``reduction="mean"``), ``what="grad"`` with its
    gradient.  Prints a plain verdict (which input failed, expected vs got, a hint) and returns
    True when every case agrees.
    """
    ref = loss if isinstance(loss, Loss) else LOSSES[loss]
    if what not in ("value", "grad"):
        raise ValueError(f"what must be 'value' or 'grad', got {what!r}")
    reference = ref if what == "value" else ref.grad
    n_cases = 0
    for label, y_true, y_pred in _cases(ref, hyper):
        n_cases += 1
        expected = reference(y_true, y_pred, **hyper)
        try:
            got = np.asarray(candidate(y_true.copy(), y_pred.copy()), dtype=float)
        except Exception as exc:  # the reader's code failed: say where, not a traceback wall
            _say(verbose, f"✗ your function raised {type(exc).__name__}: {exc}\n  on {label}.")
            return False
        if got.shape != np.shape(expected):
            _say(verbose, f"✗ on {label}: expected a result of shape {np.shape(expected)}, got {got.shape}.")
            return False
        if not np.allclose(got, expected, rtol=rtol, atol=atol):
            worst = np.unravel_index(np.argmax(np.abs(np.subtract(got, expected))), got.shape) if got.ndim else ()
            exp_v = np.asarray(expected)[worst] if got.ndim else expected
            msg = (f"✗ on {label}: expected {exp_v!r}, got {got[worst] if got.ndim else float(got)!r}"
                   f"{f' at index {worst}' if got.ndim else ''}.")
            if not np.all(np.isfinite(got)):
                msg += "\n  Your result is not finite: look for an overflow (exp of a large number) or log(0)."
            if hint:
                msg += f"\n  Hint: {hint}"
            _say(verbose, msg)
            return False
    _say(verbose, f"✓ {what} agrees with lossbook.{ref.name} on all {n_cases} test inputs.")
    return True


def _say(verbose, msg):
    if verbose:
        print(msg)
