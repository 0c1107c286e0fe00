"""The cross-framework harness: one loss, the same inputs, every implementation side by side."""
from __future__ import annotations

import numpy as np

from .core import LOSSES, Loss


def _get(loss) -> Loss:
    if isinstance(loss, Loss):
        return loss
    try:
        return LOSSES[loss]
    except KeyError:
        raise KeyError(f"no loss named {loss!r}; known: {', '.join(LOSSES)}") from None


def _comparison_class():
    import pandas as pd

    class Comparison(pd.DataFrame):
        """A DataFrame that prints whole: numbers first, then each recipe in full, never cut."""

        @property
        def _constructor(self):
            return Comparison

        def __repr__(self):
            if "recipe" not in self.columns or self.empty:
                return super().__repr__()
            width = int(self["recipe"].astype(str).str.len().max())
            return self.to_string(formatters={"recipe": lambda r: f"{r:<{width}}"}, max_colwidth=None)

        def _repr_html_(self):
            with pd.option_context("display.max_colwidth", None, "display.max_columns", None):
                return super()._repr_html_()

    return Comparison


def compare(loss, *inputs, frameworks=None, **hyper):
    """Evaluate ``loss`` and its framework counterparts on the same inputs.

    ``inputs`` are ``(y_true, y_pred)`` for most losses, the loss's own ``args`` otherwise
    (``lb.compare("triplet", anchor, positive, negative)``).  Returns a pandas DataFrame, one row
    per implementation, numbers first: the mean loss (the loss itself for a batch loss), the largest
    absolute per-sample difference from lossbook, whether it agrees within the tolerance it is held
    to, that tolerance, and last the recipe to paste, printed in full.  A framework that cannot
    express these hyperparameters gets a row that says so: ``agrees`` is ``<NA>`` (not a
    disagreement) and the recipe says why.  ``frameworks`` limits the rows (e.g. ``["torch"]``).
    """
    loss = _get(loss)
    inputs, hyper = loss._bind(inputs, hyper)
    ours = np.asarray(loss(*inputs, **hyper) if loss.batch else loss.per_sample(*inputs, **hyper))
    rows = [dict(implementation=f"lossbook.{loss.name}", mean=float(ours.mean()), max_abs_diff=0.0,
                 agrees=True, tolerance="-", recipe="lossbook (float64)")]
    arrays = [np.asarray(x, dtype=float) for x in inputs]
    for c in loss.counterparts:
        if c.fn is None or (frameworks is not None and c.framework not in frameworks):
            continue
        try:
            theirs = np.asarray(c.fn(*arrays, **loss.resolve(hyper)), dtype=float)
        except NotImplementedError as exc:
            rows.append(dict(implementation=c.name, mean=np.nan, max_abs_diff=np.nan, agrees=None,
                             tolerance="-", recipe=f"not expressible: {exc}"))
            continue
        diff = float(np.max(np.abs(theirs - ours)))
        ok = bool(np.allclose(theirs, ours, rtol=c.rtol, atol=c.atol))
        rows.append(dict(implementation=c.name, mean=float(theirs.mean()), max_abs_diff=diff, agrees=ok,
                         tolerance=f"rtol {c.rtol:g}", recipe=c.recipe))
    table = _comparison_class()(rows).set_index("implementation")
    table["agrees"] = table["agrees"].astype("boolean")
    return table


def cmp(label: str, ours, reference, *, rtol=1e-12, atol=0.0) -> bool:
    """Print whether two arrays are exactly equal, close, or how far apart (micrograd's ``cmp``)."""
    a = np.asarray(ours, dtype=float)
    b = np.asarray(reference, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"{label}: shapes differ, {a.shape} vs {b.shape}")
    exact = bool(np.array_equal(a, b))
    close = bool(np.allclose(a, b, rtol=rtol, atol=atol))
    print(f"{label:<28s} | exact: {str(exact):5s} | close: {str(close):5s} | "
          f"max diff: {float(np.max(np.abs(a - b))) if a.size else 0.0:.3e}")
    return close
