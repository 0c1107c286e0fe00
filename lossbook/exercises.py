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
    """(label, inputs) pairs: random input at each rank, a single sample, the extremes."""
    for seed, ndim in enumerate(loss.ndims * 2):
        inputs = sample_inputs(loss, hyper, ndim, seed)
        yield f"random input {seed + 1} ({loss.args[-1].name} of shape {inputs[-1].shape})", inputs
    if not loss.batch:
        yield "a single sample", sample_inputs(loss, hyper, loss.ndims[-1], seed=99, n=1)
    for ndim in loss.ndims:
        for *inputs, _ in extreme_inputs(loss, hyper, ndim):
            big = max(float(np.max(np.abs(x))) for x in inputs)
            yield f"extreme input (entries up to {big:g})", tuple(inputs)


def check(candidate, loss, *, what: str = "value", rtol: float = 1e-9, atol: float = 1e-12, verbose: bool = True,
          hint: str | None = None, **hyper) -> bool:
    """Compare ``candidate(y_true, y_pred)`` with lossbook's ``loss`` on random and extreme input.

    ``what="value"`` compares with the mean loss (``reduction="mean"``; the loss itself for a
    batch loss), ``what="grad"`` with its gradient (a tuple, one per differentiated input, for
    losses such as the triplet loss, whose candidate takes ``(anchor, positive, negative)``).
    Prints a plain verdict (which input failed, expected vs got, a hint) and returns True when
    every case agrees.
    """
    ref = loss if isinstance(loss, Loss) else LOSSES[loss]
    if what not in ("value", "grad"):
        raise ValueError(f"what must be 'value' or 'grad', got {what!r}")
    reference = ref if what == "value" else ref.grad
    n_cases = 0
    for label, inputs in _cases(ref, hyper):
        n_cases += 1
        expected = reference(*inputs, **hyper)
        try:
            got = candidate(*(x.copy() for x in inputs))
        except Exception as exc:  # the reader's code failed: say where, not a traceback wall
            _say(verbose, f"✗ your function raised {type(exc).__name__}: {exc}\n  on {label}.")
            return False
        if isinstance(expected, tuple):
            names = [ref.args[i].name for i in ref.diff_args]
            if not isinstance(got, (tuple, list)) or len(got) != len(expected):
                _say(verbose, f"✗ on {label}: expected {len(expected)} gradients ({', '.join(names)}), "
                              f"got {type(got).__name__}.")
                return False
            pairs = [(f"the gradient w.r.t. {n}", e, g) for n, e, g in zip(names, expected, got)]
        else:
            pairs = [("the result", expected, got)]
        for what_, exp, g in pairs:
            if not _agree(verbose, label, what_, np.asarray(g, dtype=float), exp, rtol, atol, hint):
                return False
    _say(verbose, f"✓ {what} agrees with lossbook.{ref.name} on all {n_cases} test inputs.")
    return True


def _agree(verbose, label, what, got, expected, rtol, atol, hint) -> bool:
    if got.shape != np.shape(expected):
        _say(verbose, f"✗ on {label}: expected {what} of shape {np.shape(expected)}, got {got.shape}.")
        return False
    if np.allclose(got, expected, rtol=rtol, atol=atol):
        return True
    worst = np.unravel_index(np.argmax(np.abs(np.subtract(got, expected))), got.shape) if got.ndim else ()
    exp_v = np.asarray(expected)[worst] if got.ndim else expected
    msg = (f"✗ on {label}: expected {exp_v!r}, got {got[worst] if got.ndim else float(got)!r}"
           f"{f' at index {worst}' if got.ndim else ''} in {what}.")
    if not np.all(np.isfinite(got)):
        msg += "\n  Your result is not finite: look for an overflow (exp of a large number) or log(0)."
    if hint:
        msg += f"\n  Hint: {hint}"
    _say(verbose, msg)
    return False


def _say(verbose, msg):
    if verbose:
        print(msg)
