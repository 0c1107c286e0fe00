"""Input checks shared by every loss.

Each check raises ``ValueError`` (or ``TypeError`` for a wrong type) with a message that names the
argument, says what was expected and what was given.  No check ever broadcasts silently: a loss
that receives ``y_true`` of shape ``(N,)`` and ``y_pred`` of shape ``(N, 1)`` is told so.

The *domains* below describe the values a loss accepts for ``y_true`` and ``y_pred``.  They serve
three purposes: validation (``check``), random valid input for the registry-driven tests
(``sample``) and one invalid value per domain for the bad-input battery (``bad_value``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

REDUCTIONS = ("mean", "sum", "none")


def _describe(x: np.ndarray) -> str:
    return f"array of shape {x.shape}"


def as_float_array(name: str, value, *, dtype=np.float64, empty_rows: bool = False) -> np.ndarray:
    """Convert ``value`` to a finite, non-empty float array (float64 by default).

    ``empty_rows=True``: samples may be empty, shape ``(N, 0)`` with N > 0 (CTC's label sequences
    when every target is empty)."""
    if isinstance(value, (str, bytes, dict, set)) or value is None:
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__}")
    if hasattr(value, "detach"):  # a torch tensor: never keep it on the graph
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of numbers: {exc}") from None
    if arr.size == 0 and not (empty_rows and arr.ndim >= 2 and arr.shape[0] > 0):
        raise ValueError(f"{name} is empty (shape {arr.shape}); expected at least one sample")
    if arr.ndim == 0:
        raise ValueError(f"{name} must have a batch axis, shape (N,) or (N, D); got a scalar")
    with np.errstate(over="ignore", invalid="ignore"):
        # inf and nan survive a sum, so a finite total proves every entry finite in one read (an
        # elementwise np.isfinite first writes a bool per entry); a total that overflows, or a real
        # offender, takes the entry-by-entry test, which passes or names the first bad entry
        total = arr.sum()
    if not np.isfinite(total) and not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{name} must be finite; found {arr[tuple(bad)]} at index {tuple(int(i) for i in bad)}")
    return arr


def check_same_shape(y_true: np.ndarray, y_pred: np.ndarray) -> None:
    if y_true.shape != y_pred.shape:
        hint = ""
        if y_true.size == y_pred.size:
            hint = " (reshape one of them; lossbook never broadcasts (N,) against (N, 1))"
        raise ValueError(
            f"y_true and y_pred must have the same shape; got y_true {y_true.shape} and "
            f"y_pred {y_pred.shape}{hint}"
        )


def check_reduction(reduction: str) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return reduction


def check_sample_weight(sample_weight, n: int) -> np.ndarray | None:
    """``None``, or a non-negative finite weight per sample, shape ``(N,)``."""
    if sample_weight is None:
        return None
    w = np.asarray(as_float_array("sample_weight", np.atleast_1d(sample_weight)))
    if w.shape != (n,):
        raise ValueError(f"sample_weight must have shape ({n},), one weight per sample; got {w.shape}")
    if np.any(w < 0):
        raise ValueError(f"sample_weight must be >= 0; got a minimum of {w.min()}")
    return w


def check_hyper(name: str, value, test: str) -> float:
    """Check a scalar hyperparameter. ``test`` is one of '>0', '>=0', '[0,1]', '[0,1)', '(0,1)', '(0,1]', 'real'."""
    if isinstance(value, bool) or not np.isscalar(value) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    v = float(value)
    ok = {
        ">0": v > 0,
        ">=0": v >= 0,
        "[0,1]": 0 <= v <= 1,
        "[0,1)": 0 <= v < 1,
        "(0,1)": 0 < v < 1,
        "(0,1]": 0 < v <= 1,
        "real": True,
    }[test]
    if not np.isfinite(v) or not ok:
        wanted = {"real": "finite"}.get(test, f"in {test}" if test[0] in "[(" else test)
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    return v


# --------------------------------------------------------------------------------------------
# Domains of y_true / y_pred
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Domain:
    """A set of admissible values: a name, a test, a sampler and one value outside the set."""

    name: str
    description: str
    contains: Callable[[np.ndarray], np.ndarray]  # elementwise (or row-wise) bool
    sample: Callable[[np.random.Generator, tuple], np.ndarray]
    bad_value: float | None  # a value outside the domain, None when every finite value is valid
    extremes: tuple = ()  # valid extreme values the loss must handle
    # optional whole-array test, True exactly when every value is inside: a few reductions with no
    # (N, D) temporaries (min, max, row sums).  When it passes, ``contains`` is not evaluated; when it
    # fails, ``contains`` runs to find the first offender for the message.
    all_inside: Callable[[np.ndarray], bool] | None = None

    def check(self, name: str, arr: np.ndarray) -> None:
        if self.all_inside is not None and self.all_inside(arr):
            return
        ok = self.contains(arr)
        if not np.all(ok):
            idx = tuple(int(i) for i in np.argwhere(~np.asarray(ok))[0])
            shown = arr[idx] if len(idx) == arr.ndim else arr[idx[0]]
            raise ValueError(f"{name} must be {self.description}; found {shown} at index {idx}")


def _one_hot(rng, shape):
    k = rng.integers(0, shape[-1], size=shape[:-1])
    return np.eye(shape[-1])[k]


def _simplex(rng, shape):
    x = rng.gamma(1.0, size=shape)
    return x / x.sum(axis=-1, keepdims=True)


def _rows_on_simplex(arr):
    # min/max/|sum - 1| per row: three cheap reductions instead of np.isclose's temporaries
    return (arr.min(axis=-1) >= 0) & (arr.max(axis=-1) <= 1) & (np.abs(arr.sum(axis=-1) - 1.0) <= 1e-6)


def _row_sums(arr):
    """Sum over the last axis; einsum is several times faster than ``arr.sum(axis=-1)`` on short rows."""
    return np.einsum("...i->...", arr)


def _all_on_simplex(arr):
    # whole-array min and max (no per-row reductions), then the row sums
    return arr.min() >= 0 and arr.max() <= 1 and bool(np.all(np.abs(_row_sums(arr) - 1.0) <= 1e-6))


def _all_one_hot(arr):
    # every entry 0 or 1, and each row sums to exactly 1 (sums of 0s and 1s are exact)
    return bool(np.all((arr == 0) | (arr == 1))) and bool(np.all(_row_sums(arr) == 1))


def _rows_of_log_probabilities(arr):
    # max <= 0 per row, and |log sum exp| <= 1e-5.  Valid rows have entries <= 0, so exp needs no
    # max shift (it cannot overflow): one exp, one sum, one log per row.  An invalid row with a
    # large positive entry overflows to inf and fails, as it should (hence the errstate).
    with np.errstate(over="ignore", divide="ignore"):
        return (arr.max(axis=-1) <= 0) & (np.abs(np.log(np.exp(arr).sum(axis=-1))) <= 1e-5)


def _all_log_probabilities(arr):
    # whole-array max first (a positive entry fails before any exp), then one exp and the row sums
    # (a row of exps that all underflow sums to 0: log gives -inf and the row fails, silently).
    # The exp, most of this check's time, runs in float32: 2-3 times faster than in float64, and
    # accurate enough to decide.  Rounding an entry x to float32 moves its exp by |x| 6e-8
    # (relative) and float32's exp adds ~3e-7, so the row's log-sum-exp moves by at most
    # 3e-7 + 6e-8 log C (the p-weighted mean of |log p| is the row's entropy, <= log C); a float32
    # row sum adds (C - 1) 6e-8 at most, so rows wider than 64 are summed in float64.  In all, under
    # 4.4e-6: accepting rows at half the tolerance (5e-6) never passes what the float64 test would
    # reject, and a row not accepted here gets that float64 test (``contains``), which decides and
    # names the first bad row.
    if arr.max() > 0:
        return False
    exps = arr.astype(np.float32)
    dtype = np.float32 if arr.shape[-1] <= 64 else np.float64
    with np.errstate(divide="ignore", under="ignore"):
        np.exp(exps, out=exps)
        row_sums = np.einsum("...i->...", exps, dtype=dtype).astype(np.float64)
        return bool(np.all(np.abs(np.log(row_sums)) <= 0.5e-5))


def _groups_ok(a):
    """Elementwise: an integer label that appears at least twice (so that its row has a positive)."""
    a = np.asarray(a)
    _, inverse, counts = np.unique(a, return_inverse=True, return_counts=True)
    return (a == np.round(a)) & (counts[inverse.reshape(a.shape)] >= 2)


def _sample_groups(rng, shape):
    """Labels 0,0,1,1,2,2,... (an odd batch ends with one group of three), the label values shuffled.

    Consecutive rows share a label, so any even-sized slice from the start (a Keras batch) is valid.
    """
    n = shape[0]
    k = max(n // 2, 1)
    groups = np.minimum(np.arange(n) // 2, k - 1)
    return rng.permutation(k)[groups].astype(float)


def _sample_cosines(rng, shape):
    """Rows of cosines that real unit vectors can have: each row shorter than 1 (then x = (c, sqrt(1 - |c|^2))
    against the unit class vectors e_1 ... e_C has exactly these cosines)."""
    x = rng.normal(size=shape)
    x /= np.linalg.norm(x, axis=-1, keepdims=True)
    return x * rng.uniform(0.2, 0.95, size=shape[:-1] + (1,))


DOMAINS = {
    "real": Domain("real", "finite real numbers", lambda a: np.ones(a.shape, bool),
                   lambda rng, s: rng.normal(size=s), None, (-1e4, 1e4), all_inside=lambda a: True),
    "nonneg": Domain("nonneg", "non-negative (>= 0)", lambda a: a >= 0,
                     lambda rng, s: rng.gamma(2.0, size=s), -1.0, (0.0, 1e4), all_inside=lambda a: a.min() >= 0),
    "positive": Domain("positive", "strictly positive (> 0)", lambda a: a > 0,
                       lambda rng, s: rng.gamma(2.0, size=s) + 0.1, 0.0, (1e-12, 1e4),
                       all_inside=lambda a: a.min() > 0),
    "probability": Domain("probability", "probabilities in [0, 1]", lambda a: (a >= 0) & (a <= 1),
                          lambda rng, s: rng.uniform(0.02, 0.98, size=s), 1.5, (0.0, 1.0),
                          all_inside=lambda a: a.min() >= 0 and a.max() <= 1),
    "binary": Domain("binary", "binary labels in {0, 1}", lambda a: (a == 0) | (a == 1),
                     lambda rng, s: rng.integers(0, 2, size=s).astype(float), 0.5, ()),
    "signed": Domain("signed", "labels in {-1, 1}", lambda a: (a == -1) | (a == 1),
                     lambda rng, s: rng.choice([-1.0, 1.0], size=s), 0.0, ()),
    # regression (issue 3): MSLE's exact log1p needs values above -1; MAPE divides by |y_true|
    "above_minus_one": Domain("above_minus_one", "greater than -1 (log1p is undefined at and below -1)",
                              lambda a: a > -1, lambda rng, s: rng.gamma(2.0, size=s) - 0.5, -1.0,
                              (-1 + 1e-9, 1e4), all_inside=lambda a: a.min() > -1),
    "nonzero": Domain("nonzero", "non-zero (it is a divisor)", lambda a: a != 0,
                      lambda rng, s: rng.choice([-1.0, 1.0], size=s) * (rng.gamma(2.0, size=s) + 0.1), 0.0,
                      (-1e4, 1e4), all_inside=lambda a: bool(np.all(a))),
    "one_hot": Domain("one_hot", "one-hot rows (a single 1, zeros elsewhere)",
                      lambda a: np.all((a == 0) | (a == 1), axis=-1) & (a.sum(axis=-1) == 1),
                      _one_hot, 2.0, (), all_inside=_all_one_hot),
    "simplex": Domain("simplex", "rows of probabilities in [0, 1] that sum to 1",
                      _rows_on_simplex, _simplex, 2.0, (), all_inside=_all_on_simplex),
    # log-probabilities (what LogSoftmax returns): every entry <= 0 and each row's logsumexp is 0
    "log_simplex": Domain("log_simplex", "rows of log-probabilities (entries <= 0 whose exp sums to 1)",
                          _rows_of_log_probabilities, lambda rng, s: np.log(_simplex(rng, s)), 0.5, (),
                          all_inside=_all_log_probabilities),
    # the labels of a batch of views (NT-Xent): which rows are views of the same item
    "groups": Domain("groups", "integer labels, each appearing at least twice (every row needs a positive partner)",
                     _groups_ok, _sample_groups, 0.5, ()),
    # CTC: label sequences (padded with any integer past their length) and the lengths themselves
    "integers": Domain("integers", "integers", lambda a: a == np.round(a),
                       lambda rng, s: rng.integers(0, 4, size=s).astype(float), 0.5, ()),
    "count": Domain("count", "non-negative integers (lengths)", lambda a: (a >= 0) & (a == np.round(a)),
                    lambda rng, s: rng.integers(0, 4, size=s).astype(float), 0.5, ()),
    # ArcFace / CosFace: cosines between a normalised embedding and normalised class weights
    "cosine": Domain("cosine", "cosines in [-1, 1] (clamp a normalised dot product that rounding pushed past 1)",
                     lambda a: (a >= -1) & (a <= 1), _sample_cosines, 1.5, (-1.0, 1.0),
                     all_inside=lambda a: a.min() >= -1 and a.max() <= 1),
}


def check_domain(name: str, arr: np.ndarray, domain: str) -> None:
    DOMAINS[domain].check(name, arr)


def check_class_labels(name: str, labels: np.ndarray, n_classes: int, ignore: int | None = None) -> np.ndarray:
    """Integer class ids in ``[0, n_classes)`` (or equal to ``ignore``, torch's ``ignore_index``),
    returned as an int array."""
    if not np.all(labels == np.round(labels)):
        raise ValueError(f"{name} must hold integer class ids; found {labels[labels != np.round(labels)][0]}")
    checked = labels if ignore is None else labels[labels != ignore]
    if checked.size and (checked.min() < 0 or checked.max() >= n_classes):
        labels = checked
        raise ValueError(
            f"{name} must hold class ids in [0, {n_classes - 1}] (y_pred has {n_classes} classes)"
            + ("" if ignore is None else f" or the ignore_index {ignore}")
            + f"; got values from {labels.min():g} to {labels.max():g}"
        )
    return labels.astype(np.int64)
