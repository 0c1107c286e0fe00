"""Valid random and extreme input for any registered loss, built from its declared domains.

The registry-driven tests and the exercise checker both draw their inputs from here, so that a
loss is tested (and a reader's version of it is checked) the moment it is registered.
"""
from __future__ import annotations

import numpy as np

from .core import LOSSES
from .validation import DOMAINS

N, D = 7, 3


def cases():
    """(loss, hyper, ndim) for every registered loss, configuration and rank of its inputs."""
    for loss in LOSSES.values():
        for hyper in loss.configs:
            for ndim in loss.ndims:
                yield loss, dict(hyper), ndim


def case_id(case) -> str:
    loss, hyper, ndim = case
    hp = ",".join(f"{k}={v}" for k, v in hyper.items())
    return f"{loss.name}[{hp}]-{ndim}d"


def sample_inputs(loss, hyper=None, ndim=None, seed=0, n=N, d=D) -> tuple:
    """Random valid inputs for ``loss`` with ``hyper``: ``(y_true, y_pred)`` for most losses, the
    loss's own ``args`` otherwise; the shared shape is ``(n,)`` or ``(n, d)`` by ``ndim``."""
    hyper = hyper or {}
    ndim = ndim or loss.ndims[-1]
    rng = np.random.default_rng(seed)
    if loss.sampler is not None:  # inputs the domains cannot describe alone (sequences and lengths)
        return tuple(loss.sampler(rng, n, loss.resolve(hyper)))
    shape = (n,) if ndim == 1 else (n, d)
    if loss.pair:  # drawn in this order so that the inputs of the first losses never change
        y_pred = DOMAINS[loss.y_pred_domain(**hyper)].sample(rng, shape)
        if loss.shape == "labels":
            y_true = rng.integers(0, shape[-1], size=n).astype(float)
        else:
            y_true = DOMAINS[loss.y_true_domain(**hyper)].sample(rng, shape)
        return y_true, y_pred
    return tuple(DOMAINS[loss.domain(a.name, **hyper)].sample(rng, shape if a.kind == "same" else (n,))
                 for a in loss.args)


def extreme_inputs(loss, hyper=None, ndim=None) -> list[tuple]:
    """Valid extreme inputs ``[(*inputs, hyper), ...]``: the loss's own list if it declares one,
    otherwise samples with every other entry of the (last) differentiated input set to each
    extreme of its domain."""
    hyper = hyper or {}
    if loss.extremes is not None:
        return [c for c in loss.extremes() if c[-1] == hyper]
    inputs = sample_inputs(loss, hyper, ndim)
    k = loss.diff_args[-1]
    out = []
    for value in DOMAINS[loss.domain(loss.args[k].name, **hyper)].extremes:
        x = inputs[k].copy()
        x.flat[::2] = value
        out.append((*inputs[:k], x, *inputs[k + 1:], hyper))
    return out
