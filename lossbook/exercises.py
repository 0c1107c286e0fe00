"""Check a reader's own version of a loss (or of its gradient) against lossbook's.

>>> import numpy as np, lossbook as lb
>>> mine = lambda y_true, y_pred: np.mean((y_pred - y_true) ** 2)
>>> lb.check(mine, "mean_squared_error", verbose=False)
True

The checker speaks to a student: when the candidate is wrong it says on which input, by how
much, and, where the gap has a known cause (float32 arithmetic, 0 * log 0, a forgotten
``return``, Keras's clipping at 1e-7, torch's eps in the triplet distance, a sum instead of a
mean), what that cause is. The student's own exception is reported in one line, never as a
traceback of the checker.
"""
from __future__ import annotations

import inspect

import numpy as np

from .core import LOSSES, Loss
from .testing import extreme_inputs, sample_inputs

# Conventions that differ between a textbook formula and a framework: (hyperparameter, value,
# what it means). When the candidate agrees with lossbook under one of them, the checker says so.
CONVENTIONS = (
    ("epsilon", 1e-7, "Keras clips probabilities to [1e-7, 1 - 1e-7] (lossbook does not by default)"),
    ("eps", 0.0, "torch's TripletMarginLoss adds eps = 1e-6 to the difference inside the norm; "
                 "the textbook distance has none"),
    ("eps", 1e-6, "torch's TripletMarginLoss adds eps = 1e-6 to the difference inside the norm"),
)


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


def _accepts(candidate) -> tuple[set[str], bool]:
    """The keyword names the candidate takes, and whether it takes any (``**kwargs``)."""
    try:
        params = inspect.signature(candidate).parameters.values()
    except (TypeError, ValueError):
        return set(), False
    names = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return names, any(p.kind == p.VAR_KEYWORD for p in params)


class _Verdict(Exception):
    """A failed case, with the message for the student."""


def check(candidate, loss, *, what: str = "value", rtol: float = 1e-9, atol: float = 1e-12, verbose: bool = True,
          hint: str | None = None, **hyper) -> bool:
    """Compare ``candidate(y_true, y_pred)`` with lossbook's ``loss`` on random and extreme input.

    ``what="value"`` compares with the mean loss (``reduction="mean"``; the loss itself for a
    batch loss), ``what="grad"`` with its gradient (a tuple, one per differentiated input, for
    losses such as the triplet loss, whose candidate takes ``(anchor, positive, negative)``).

    Hyperparameters (``delta=2.0``) set the reference; they are passed to the candidate too when
    its signature takes them, and the verdict says which were. When the candidate takes
    ``sample_weight`` or ``reduction``, those are checked as well (weights with zeros, every
    reduction). Prints a plain verdict (which input failed, expected vs got, the likely cause)
    and returns True when every case agrees.
    """
    ref = loss if isinstance(loss, Loss) else LOSSES[loss]
    if what not in ("value", "grad"):
        raise ValueError(f"what must be 'value' or 'grad', got {what!r}")
    reference = ref if what == "value" else ref.grad
    names, any_kw = _accepts(candidate)
    passed = {k: v for k, v in hyper.items() if any_kw or k in names}
    notes = []
    if hyper:
        if passed:
            notes.append(f"passed to your function: {', '.join(f'{k}={v!r}' for k, v in passed.items())}")
        kept = {k: v for k, v in hyper.items() if k not in passed}
        if kept:
            notes.append("your function takes no " + ", ".join(f"`{k}`" for k in kept) + " argument, so it must "
                         "compute with " + ", ".join(f"{k}={v!r}" for k, v in kept.items()) + " itself")
    n_cases = 0
    try:
        for label, inputs in _cases(ref, hyper):
            n_cases += 1
            expected = reference(*inputs, **hyper)
            got = _run(candidate, inputs, passed, label)
            _compare(ref, what, label, inputs, hyper, expected, got, rtol, atol, hint)
        if not ref.batch:
            for kw in _extra_keywords(ref, names, any_kw):
                inputs = sample_inputs(ref, hyper, ref.ndims[-1], seed=7)
                label = "random input with " + ", ".join(f"{k}={_short(v)}" for k, v in kw.items())
                n_cases += 1
                expected = reference(*inputs, **hyper, **kw)
                got = _run(candidate, inputs, {**passed, **kw}, label)
                _compare(ref, what, label, inputs, {**hyper, **kw}, expected, got, rtol, atol, hint)
    except _Verdict as verdict:
        _say(verbose, "\n  ".join([str(verdict), *notes]))
        return False
    _say(verbose, "\n  ".join([f"✓ {what} agrees with lossbook.{ref.name} on all {n_cases} test inputs.", *notes]))
    return True


def _short(v):
    return f"array of {len(v)} weights (some 0)" if isinstance(v, np.ndarray) else repr(v)


def _extra_keywords(ref: Loss, names: set[str], any_kw: bool):
    """The sample_weight and reduction cases, for a candidate that takes them."""
    if any_kw or "sample_weight" in names:
        w = np.random.default_rng(11).uniform(0.0, 2.0, size=7)
        w[::3] = 0.0
        yield {"sample_weight": w}
    if any_kw or "reduction" in names:
        yield {"reduction": "sum"}
        yield {"reduction": "none"}


def _run(candidate, inputs, kwargs, label):
    try:
        return candidate(*(x.copy() for x in inputs), **kwargs)
    except Exception as exc:  # the reader's code failed: say where, not a traceback wall
        raise _Verdict(f"✗ your function raised {type(exc).__name__}: {exc}\n  on {label}.") from None


def _compare(ref, what, label, inputs, hyper, expected, got, rtol, atol, hint):
    if got is None:
        raise _Verdict(f"✗ your function returned None on {label}: did you forget `return`?")
    if isinstance(expected, tuple):
        names = [ref.args[i].name for i in ref.diff_args]
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            raise _Verdict(f"✗ on {label}: expected {len(expected)} gradients ({', '.join(names)}), "
                           f"got {type(got).__name__}.")
        pairs = [(f"the gradient w.r.t. {n}", e, g) for n, e, g in zip(names, expected, got)]
    else:
        if isinstance(got, (tuple, list)) and len(got) == 2 and np.ndim(expected) == 0:
            raise _Verdict(f"✗ on {label}: your function returned a pair (a {type(got).__name__} of two), "
                           f"where {'the loss value' if what == 'value' else 'the gradient'} was expected. If it "
                           "returns (loss, gradient), check each part: the value with what='value', the "
                           "gradient with what='grad'.")
        pairs = [("the result", expected, got)]
    for what_, exp, g in pairs:
        try:
            g_arr = np.asarray(g)
        except Exception:  # noqa: BLE001 - anything that is not an array of numbers
            raise _Verdict(f"✗ on {label}: {what_} is a {type(g).__name__}, not a number or an array.") from None
        if g_arr.dtype == object or not np.issubdtype(g_arr.dtype, np.number) and g_arr.dtype != bool:
            raise _Verdict(f"✗ on {label}: {what_} is a {type(g).__name__}, not a number or an array.")
        if g_arr.shape != np.shape(exp):
            msg = f"✗ on {label}: expected {what_} of shape {np.shape(exp)}, got {g_arr.shape}."
            if np.ndim(exp) == 0 and g_arr.ndim == 1:
                msg += "\n  You returned one value per sample: the mean over the batch is expected."
            raise _Verdict(msg)
        if np.allclose(g_arr.astype(float), exp, rtol=rtol, atol=atol):
            continue
        raise _Verdict(_disagreement(ref, what, label, inputs, hyper, what_, g_arr, exp, hint))


def _disagreement(ref, what, label, inputs, hyper, what_, got, expected, hint) -> str:
    g = got.astype(float)
    worst = np.unravel_index(np.argmax(np.abs(np.nan_to_num(g - expected, nan=np.inf))), g.shape) if g.ndim else ()
    exp_v = np.asarray(expected)[worst] if g.ndim else float(expected)
    msg = (f"✗ on {label}: expected {exp_v!r}, got {g[worst] if g.ndim else float(g)!r}"
           f"{f' at index {worst}' if g.ndim else ''} in {what_}.")
    for cause in _causes(ref, what, inputs, hyper, got, expected):
        msg += f"\n  Likely cause: {cause}"
    if hint:
        msg += f"\n  Hint: {hint}"
    return msg


def _causes(ref, what, inputs, hyper, got, expected):
    """Known reasons for a gap, each tested, not guessed."""
    g = got.astype(float)
    finite = np.isfinite(g)
    if np.any(np.isnan(g)):
        zeros = any(np.any(x == 0) for x in inputs)
        yield ("your result has nan" + (" and the input has zeros: 0 * log(0) is nan in floating point, but "
               "its limit, and the loss's value, is 0. Use scipy.special.xlogy(y, p) (0 where y = 0) or "
               "np.where(y > 0, y * np.log(p), 0)." if zeros else
               ": look for 0/0, inf - inf or the log of a negative number."))
    if np.any(np.isinf(g)):
        yield "your result is infinite: look for an overflow (exp of a large number) or log(0)."
    if not np.all(finite):
        return
    reference = ref if what == "value" else ref.grad
    for key in ("sample_weight", "reduction"):
        if key in hyper:
            plain = {k: v for k, v in hyper.items() if k != key}
            if _close(g, reference(*inputs, **plain)):
                yield f"your function takes `{key}` but gives the result of {key}'s default: it ignores it."
                return
    for name, value, meaning in CONVENTIONS:
        if name not in ref.hyper or hyper.get(name, ref.hyper[name].default) == value:
            continue
        try:
            other = reference(*inputs, **{**hyper, name: value})
        except (ValueError, TypeError):
            continue
        if _close(g, other):
            yield (f"your result is lossbook's with {name}={value!r}: {meaning}. Pass {name}={value!r} to "
                   f"check to compare with that convention, or change your formula.")
            return
    if what == "value" and np.ndim(expected) == 0 and not ref.batch and hyper.get("reduction", "mean") == "mean":
        n = inputs[0].shape[0]
        if n > 1 and np.isclose(float(g), float(expected) * n, rtol=1e-9):
            yield f"your value is {n} times too large, N = {n}: you returned the sum; the mean is expected."
            return
    rel = np.max(np.abs(g - expected) / np.maximum(np.abs(expected), 1e-300))
    if got.dtype == np.float32 or rel < 1e-5:
        yield (f"the relative gap is {rel:.1e}, the size of float32 rounding. Compute in float64: "
               "lossbook's inputs are float64, so a float32 step (np.float32, a torch default tensor, "
               "astype('float32')) is the usual culprit.")


def _close(got, other) -> bool:
    if isinstance(other, tuple) or np.shape(got) != np.shape(other):
        return False
    return bool(np.allclose(got, other, rtol=1e-9, atol=1e-12))


def _say(verbose, msg):
    if verbose:
        print(msg)
