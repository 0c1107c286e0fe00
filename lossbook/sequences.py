"""Sequence losses: CTC, the likelihood of a label sequence whose alignment to the input is unknown.

``ctc(targets, logits, input_lengths, target_lengths)``: N sequences of scores ``(N, T, C)`` (C
classes, one of them the *blank*, at each of T steps), each read up to its own length, and N label
sequences ``(N, S)``, each read up to its own length (what lies past it is ignored: pad with -1, 0,
anything).  One sample is one sequence: the per-sample value is the negative log-likelihood of the
whole label sequence, and ``reduction="mean"`` averages over sequences.
Its framework counterparts are in ``lossbook/counterparts.py``.
Chapter: ``book/sequences/ctc``.
"""
from __future__ import annotations

import numpy as np

from .core import Arg, Hyper, Loss

__all__ = ["ctc"]


def _log_softmax(z):
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _lse3(a, b, c):
    """log(e^a + e^b + e^c), elementwise, where any of them may be -inf."""
    shift = np.maximum(np.maximum(a, b), c)
    shift[~np.isfinite(shift)] = 0.0  # all three -inf: exp(-inf) = 0 below, and the log gives -inf
    total = np.exp(a - shift)
    total += np.exp(b - shift)
    total += np.exp(c - shift)
    with np.errstate(divide="ignore"):
        np.log(total, out=total)
    total += shift
    return total


def _right(x, k):
    """Shift each row right by k states (state s receives s - k), -inf coming in."""
    out = np.full_like(x, -np.inf)
    if k < x.shape[1]:
        out[:, k:] = x[:, :-k]
    return out


def _left(x, k):
    """Shift each row left by k states (state s receives s + k), -inf coming in."""
    out = np.full_like(x, -np.inf)
    if k < x.shape[1]:
        out[:, :-k] = x[:, k:]
    return out


def _extended(targets, target_lengths, blank):
    """The blank-separated label sequences (N, 2S + 1): blank, l_1, blank, l_2, ..., l_L, blank;
    which states each sample uses (its first 2 L + 1); and where the jump s - 2 -> s is allowed
    (a label that differs from the label before it)."""
    n, s = targets.shape
    inside = np.arange(s)[None, :] < target_lengths[:, None]
    labels = np.where(inside, targets, blank).astype(np.int64)
    ext = np.full((n, 2 * s + 1), blank, dtype=np.int64)
    ext[:, 1::2] = labels
    used = np.arange(2 * s + 1)[None, :] < (2 * target_lengths + 1)[:, None]
    skip = np.zeros(ext.shape, bool)
    skip[:, 3::2] = labels[:, 1:] != labels[:, :-1]
    return ext, used, skip


def min_steps(targets, target_lengths):
    """The fewest steps that can emit each label sequence: its length plus one blank between each
    pair of equal neighbours (CTC collapses repeats, so "a a" must be read as "a, blank, a")."""
    targets = np.asarray(targets)
    lengths = np.asarray(target_lengths).astype(np.int64)
    inside = np.arange(targets.shape[1])[None, 1:] < lengths[:, None]
    repeats = ((targets[:, 1:] == targets[:, :-1]) & inside).sum(axis=1)
    return lengths + repeats


def _ctc(targets, logits, input_lengths, target_lengths, *, with_grad, blank, zero_infinity):
    r"""Connectionist temporal classification (Graves et al. 2006): the negative log-likelihood of
    a label sequence, summed over every alignment of it to the input steps.

    At each step t the scores give class probabilities :math:`p_t = \operatorname{softmax}(z_t)`
    over C classes, one of which is the blank. A path :math:`\pi \in \{0..C-1\}^{T_n}` is read by
    the map :math:`\mathcal{B}` that merges repeated classes and then removes blanks; with
    :math:`\mathbf{y}` the first :math:`L_n` entries of the sample's targets,

    .. math::  \ell = -\log \sum_{\pi:\, \mathcal{B}(\pi) = \mathbf{y}} \prod_{t=1}^{T_n} p_t(\pi_t).

    The sum is a dynamic programme over the extended sequence
    :math:`\mathbf{y}' = (b, y_1, b, y_2, \ldots, y_L, b)` of :math:`2L + 1` states: the forward
    variable :math:`\alpha_t(s)` (paths of the first t steps that end in state s) obeys

    .. math::  \alpha_t(s) = p_t(y'_s)\,\big[\alpha_{t-1}(s) + \alpha_{t-1}(s-1)
               + [\,y'_s \ne b,\ y'_s \ne y'_{s-2}\,]\,\alpha_{t-1}(s-2)\big],

    the backward variable :math:`\beta_t(s)` (the rest of the path from state s at step t) the
    mirror recursion, and :math:`P = \alpha_{T}(2L) + \alpha_{T}(2L-1)`. Both run in log space
    (``logaddexp`` of at most three terms), so no probability underflows. The gradient with
    respect to the scores is the softmax minus the posterior of each class at each step:

    .. math::  \frac{\partial \ell}{\partial z_{t,k}} = p_t(k)
               - \frac{1}{P} \sum_{s:\, y'_s = k} \alpha_t(s)\,\beta_t(s),

    and 0 at the steps past the sample's input length.

    **Conventions.** ``logits`` are scores before the softmax, as Keras's ``CTC`` and optax's
    ``ctc_loss`` take them; torch's ``CTCLoss`` takes log-probabilities laid out ``(T, N, C)``:
    ``log_softmax(-1).transpose(0, 1)``. ``blank`` is torch's ``blank`` and optax's ``blank_id``
    (both default 0); Keras fixes it at 0 and reads a target's length as its number of non-zero
    entries. The per-sample value is the whole sequence's negative log-likelihood, as in Keras and
    optax; torch's ``reduction="mean"`` first divides each by its target length (lossbook's mean
    is torch's ``"sum"`` over N). A label sequence that no path of the input's length can emit
    (fewer steps than labels plus repeats, see ``lossbook.sequences.min_steps``) has likelihood 0: torch returns
    ``inf``, optax a large finite number from its ``log_epsilon``; lossbook raises an error naming
    the sample, unless ``zero_infinity=True``, which gives such a sample loss 0 and gradient 0, as
    torch's option of that name does. (Scores near the float64 limit, 1e308, over many steps can
    push a possible sequence's log-likelihood below float64's range: the loss is then ``inf`` and
    the gradient ``nan``, as in torch, or 0 and 0 with ``zero_infinity=True``.)
    ``ctc.keras()`` takes ``(y_true, y_pred)``: the targets padded with -1 (each target's length is
    its leading run of entries >= 0) and the scores, every input read whole.
    Chapter: ``book/sequences/ctc``.
    """
    # scores near +-1e308: differences and sums overflow to -inf, whose exp is 0 (see above)
    with np.errstate(over="ignore"):
        n, t_max, c = logits.shape
        t_len = input_lengths.astype(np.int64)
        l_len = target_lengths.astype(np.int64)
        logp = _log_softmax(logits)
        ext, used, skip = _extended(targets, l_len, blank)
        # emit[t, n, s]: the log-probability of state s's class at step t (time first: each step is one block)
        emit = np.take_along_axis(logp.transpose(1, 0, 2), np.broadcast_to(ext, (t_max,) + ext.shape), axis=2)
        rows = np.arange(n)

        # forward: alpha[t, n, s] = log of the paths of steps 0..t that are in state s at step t
        alpha = np.full(emit.shape, -np.inf)
        alpha[0, :, 0] = emit[0, :, 0]
        if ext.shape[1] > 1:
            alpha[0, :, 1] = np.where(l_len > 0, emit[0, :, 1], -np.inf)
        for t in range(1, t_max):
            prev = alpha[t - 1]
            alpha[t] = emit[t] + _lse3(prev, _right(prev, 1), np.where(skip, _right(prev, 2), -np.inf))
        last = alpha[t_len - 1, rows]
        end_label = np.where(l_len > 0, last[rows, np.maximum(2 * l_len - 1, 0)], -np.inf)
        loglik = np.logaddexp(last[rows, 2 * l_len], end_label)
        # -inf: no alignment (the check lets that through with zero_infinity=True only), or a likelihood
        # below float64's range (scores near 1e308 over many steps: the loss overflows, as torch's does)
        possible = np.isfinite(loglik)
        loss = np.where(possible, np.maximum(-loglik, 0.0), 0.0 if zero_infinity else np.inf)  # P <= 1: no -1e-87
        if not with_grad:
            return loss

        # backward: beta[t, n, s] = log of the ways to finish from state s at step t (steps t+1..T_n-1)
        beta = np.full(emit.shape, -np.inf)
        finish = np.full(used.shape, -np.inf)
        finish[rows, 2 * l_len] = 0.0
        finish[rows[l_len > 0], 2 * l_len[l_len > 0] - 1] = 0.0
        for t in range(t_max - 1, -1, -1):
            if t < t_max - 1:
                nxt = np.where(used, emit[t + 1] + beta[t + 1], -np.inf)
                inner = _lse3(nxt, _left(nxt, 1), _left(np.where(skip, nxt, -np.inf), 2))
            else:
                inner = np.full(used.shape, -np.inf)
            beta[t] = np.where((t == t_len - 1)[:, None], finish, np.where((t < t_len - 1)[:, None], inner, -np.inf))

        # the posterior of each state, summed into its class: softmax minus that is the gradient
        alpha += beta
        alpha -= np.where(possible, loglik, 0.0)[None, :, None]
        occupancy = np.exp(alpha, out=alpha)
        occupancy[:, ~possible] = 0.0
        posterior = np.zeros((n, t_max, c))
        for s in range(ext.shape[1]):  # each state's share goes to its class (no (N, 2S+1, C) one-hot)
            posterior[rows, :, ext[:, s]] += occupancy[:, :, s].T
        grad = np.exp(logp) - posterior
        grad[np.arange(t_max)[None, :] >= t_len[:, None]] = 0.0
        grad[~possible] = 0.0 if zero_infinity else np.nan  # an overflowed loss has no usable gradient (torch: nan)
        return loss, grad


def _check(targets, logits, input_lengths, target_lengths, hp):
    """What the shapes and domains cannot see: lengths within their arrays, labels in [0, C) and not
    the blank, and an input long enough to emit its labels."""
    n, t_max, c = logits.shape
    s_max = targets.shape[1]
    blank = hp["blank"]
    if blank >= c:
        raise ValueError(f"blank must be a class id below C = {c} (logits has {c} classes at each step); got {blank}")
    if input_lengths.min() < 1 or input_lengths.max() > t_max:
        i = int(np.argmax((input_lengths < 1) | (input_lengths > t_max)))
        raise ValueError(f"input_lengths must be in [1, T] = [1, {t_max}] (logits has {t_max} steps); "
                         f"got {input_lengths[i]:g} for sample {i}")
    if target_lengths.max() > s_max:
        i = int(np.argmax(target_lengths > s_max))
        raise ValueError(f"target_lengths must be at most S = {s_max} (targets has {s_max} columns); "
                         f"got {target_lengths[i]:g} for sample {i}")
    inside = np.arange(s_max)[None, :] < target_lengths[:, None]
    bad = inside & ((targets < 0) | (targets >= c) | (targets == blank))
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        raise ValueError(f"targets must be class ids in [0, {c}) other than the blank ({blank}) within each "
                         f"sample's target length; found {targets[i, j]:g} at index ({i}, {j})")
    need = min_steps(targets, target_lengths)
    short = need > input_lengths
    if short.any() and not hp["zero_infinity"]:
        i = int(np.argmax(short))
        raise ValueError(
            f"targets of sample {i} cannot be emitted in input_lengths[{i}] = {input_lengths[i]:g} steps: its "
            f"{target_lengths[i]:g} labels need at least {need[i]} (one more for each repeated label). No alignment "
            f"exists, so the likelihood is 0 and the loss infinite (torch returns inf); pass zero_infinity=True "
            f"for loss 0 and gradient 0 on such samples")


T_SAMPLE, C_SAMPLE, S_SAMPLE = 5, 4, 3


def _sample(rng, n, hp):
    """Random valid input: n sequences of T = 5 steps over C = 4 classes, label sequences of up to
    3 labels padded with -1, each input length drawn between what its labels need and T.  With
    zero_infinity=True the first sample cannot be emitted (three equal labels in three steps)."""
    blank = hp["blank"]
    labels = np.array([k for k in range(C_SAMPLE) if k != blank])
    target_lengths = rng.integers(0, S_SAMPLE + 1, size=n)
    targets = rng.choice(labels, size=(n, S_SAMPLE)).astype(float)
    targets[np.arange(S_SAMPLE)[None, :] >= target_lengths[:, None]] = -1.0
    need = min_steps(targets, target_lengths)
    input_lengths = rng.integers(np.maximum(need, 1), T_SAMPLE + 1)
    logits = rng.normal(size=(n, T_SAMPLE, C_SAMPLE))
    if hp["zero_infinity"] and n > 0:
        targets[0], target_lengths[0], input_lengths[0] = labels[0], S_SAMPLE, 3
    return targets, logits, input_lengths.astype(float), target_lengths.astype(float)


def _extremes():
    """Valid extreme input: scores of +-1e4 (the labels' paths certain or nearly impossible), a
    sequence that needs every step (exactly one alignment), empty label sequences, one-step inputs."""
    out = []
    for hp in _CONFIGS:
        b = hp.get("blank", 0)
        lab = [k for k in range(4) if k != b]
        targets = np.array([[lab[0], lab[0], lab[1]], [lab[0], lab[1], lab[2]], [-1, -1, -1], [lab[2], -1, -1],
                            [lab[1], lab[1], -1]], dtype=float)
        t_len = np.array([5, 3, 1, 1, 3], dtype=float)  # rows 0 and 4: exactly what the labels need
        l_len = np.array([3, 3, 0, 1, 2], dtype=float)
        rng = np.random.default_rng(5)
        for scale in (1e4, -1e4):
            logits = rng.normal(size=(5, 5, 4))
            logits[..., b] += scale  # the blank certain, or all but impossible
            out.append((targets, logits, t_len, l_len, dict(hp)))
        spread = np.where(rng.uniform(size=(5, 5, 4)) < 0.5, 1e4, -1e4)
        out.append((targets, spread, t_len, l_len, dict(hp)))
        if hp.get("zero_infinity"):
            out.append((targets, spread, np.array([3, 3, 1, 1, 2], dtype=float), l_len, dict(hp)))  # rows 0, 4 impossible
    return out


def _keras_inputs(y_true, y_pred):
    """Keras hands a loss ``(y_true, y_pred)``: here the label sequences padded with -1 (a target's
    length is its leading run of entries >= 0, so 0-padding, Keras's own, is read as labels 0 and is
    refused when 0 is the blank) and the scores ``(N, T, C)``, every input read whole."""
    from .frameworks import import_torch

    torch = import_torch()
    n, t_max = y_pred.shape[0], y_pred.shape[1]
    target_lengths = (y_true >= 0).to(torch.int64).cumprod(dim=-1).sum(dim=-1).to(torch.float64)
    return y_true, y_pred, torch.full((n,), float(t_max), dtype=torch.float64), target_lengths


_CONFIGS = ({}, {"blank": 3}, {"zero_infinity": True})

ctc = Loss(
    "ctc", _ctc,
    family="probabilistic", chapter="sequences/ctc",
    summary="connectionist temporal classification: -log of the probability of a label sequence, summed over "
            "its alignments to the input steps",
    args=(Arg("targets", "integers", diff=False, kind="padded"), Arg("logits", "real", kind="steps"),
          Arg("input_lengths", "count", diff=False, kind="row"), Arg("target_lengths", "count", diff=False, kind="row")),
    hyper={"blank": Hyper(0, "index", "the class id of the blank (torch's blank, optax's blank_id; Keras: 0)"),
           "zero_infinity": Hyper(False, "bool", "give a sample that no alignment can emit loss 0 and gradient 0 "
                                                 "(torch's option); False: such a sample is an error")},
    configs=_CONFIGS, ndims=(3,), sampler=_sample, check=_check, extremes=_extremes, keras_inputs=_keras_inputs,
    references=("graves2006ctc",),
)
