"""Contrastive (one-against-many) losses: InfoNCE, CLIP's symmetric loss, SimCLR's NT-Xent.

Each of these losses scores a batch against itself: a row's positive is another row of the batch,
and the other rows are its negatives.  Every row therefore receives gradient from every other
row's term, so the loss is not a sum of per-sample terms that a per-sample weight could scale:
both are *batch* losses (``batch=True``: one value for the whole batch, no ``reduction`` and no
``sample_weight``).  Chapter: ``book/contrastive/info-nce``.
Their framework counterparts (torch, Keras, ...), with the recipes, are in ``lossbook/counterparts.py``.
"""
from __future__ import annotations

import numpy as np

from .core import Arg, Hyper, Loss
from .embedding import _norm

__all__ = ["info_nce", "nt_xent", "supervised_contrastive"]

#: the floor of a row's norm before it divides the row: torch.nn.functional.normalize's default
#: eps (pytorch-metric-learning normalises with it), so a zero row becomes the zero vector, not 0/0
NORM_EPS = 1e-12


# --------------------------------------------------------------------------------------------
# shared pieces: normalisation and its backward pass, a stable log-sum-exp
# --------------------------------------------------------------------------------------------
def _normalize(x):
    """Rows divided by max(||x||, 1e-12), and the norms (computed on rescaled rows: no overflow)."""
    norm = _norm(x)
    return x / np.maximum(norm, NORM_EPS)[:, None], norm


def _normalize_backward(g, u, norm):
    """dL/dx from dL/du for u = x / max(||x||, eps).

    Above the floor, u = x / ||x|| and the Jacobian is (I - u u^T) / ||x||: the part of g along u
    is removed (the length of x does not matter).  Below it u = x / eps is linear: g / eps.
    """
    above = norm > NORM_EPS
    n = np.where(above, norm, NORM_EPS)[:, None]
    radial = np.einsum("ij,ij->i", g, u)[:, None] * u
    return np.where(above[:, None], g - radial, g) / n


def _lse(z, axis):
    """log sum exp along ``axis``, shifted by the maximum so that nothing overflows; -inf rows give -inf."""
    m = np.max(z, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return (np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True)) + m).squeeze(axis)


def _check_rows(name, x):
    if x.ndim != 2:
        raise ValueError(f"{name} must have shape (N, D), one embedding per row; got {x.shape}")


# --------------------------------------------------------------------------------------------
# InfoNCE (van den Oord et al. 2018) and CLIP's symmetric form (Radford et al. 2021)
# --------------------------------------------------------------------------------------------
def _info_nce(queries, keys, *, with_grad, temperature, symmetric, normalize):
    r"""InfoNCE: each query must pick its own key out of the batch's keys.

    With :math:`s(q, k)` the cosine (``normalize=True``) or the dot product, the logits are
    :math:`Z_{ij} = s(q_i, k_j) / \tau` and row i's target is the diagonal:

    .. math::  L_{q \to k} = \frac1N \sum_{i=1}^N \Bigl(-Z_{ii} + \log \sum_{j=1}^N e^{Z_{ij}}\Bigr),
               \qquad L = \begin{cases} L_{q\to k} & \text{symmetric=False} \\
               \tfrac12 (L_{q\to k} + L_{k\to q}) & \text{symmetric=True (CLIP)} \end{cases}

    where :math:`L_{k\to q}` is the same with :math:`Z^\top` (each key picks its query).  That is
    the softmax cross-entropy of the logits matrix with targets ``0..N-1``; the keys of the other
    rows are the negatives.  Gradient with respect to the logits, with :math:`P` the row softmax of
    :math:`Z` and :math:`Q` its column softmax:

    .. math::  \frac{\partial L_{q\to k}}{\partial Z_{ij}} = \frac{P_{ij} - \delta_{ij}}{N}, \qquad
               \frac{\partial L_{k\to q}}{\partial Z_{ij}} = \frac{Q_{ij} - \delta_{ij}}{N},

    then :math:`\partial L/\partial \hat q_i = \sum_j G_{ij} \hat k_j / \tau` and
    :math:`\partial L/\partial \hat k_j = \sum_i G_{ij} \hat q_i / \tau`, and through the
    normalisation :math:`\hat x = x / \max(\lVert x\rVert, 10^{-12})`:
    :math:`(g - (g\cdot\hat x)\hat x)/\lVert x\rVert` (a zero row, below the floor, gets
    :math:`g / 10^{-12}`).  A negative's weight in a query's gradient is its softmax probability
    :math:`P_{ij}`: the smaller :math:`\tau`, the more the hardest negatives dominate.

    Batch loss: each key is a negative in every other query's term, so a per-sample weight cannot
    be applied row by row (it would have to choose between weighting a query's term and weighting
    the key's contributions to all the others); the loss returns one value and takes no
    ``reduction`` or ``sample_weight``.  Stability: log-sum-exp shifted by the row (column)
    maximum, so logits of 1e4 (tiny temperatures, large unnormalised embeddings) are fine; norms
    are computed on rescaled rows and floored at 1e-12 (``torch.nn.functional.normalize``'s eps),
    so a zero row gives logits 0, not NaN.  Chapter: ``book/contrastive/info-nce``.
    """
    _check_rows("queries", queries)
    _check_rows("keys", keys)
    if normalize:
        qn, q_norm = _normalize(queries)
        kn, k_norm = _normalize(keys)
    else:
        qn, kn = queries, keys
    n = qn.shape[0]
    z = (qn @ kn.T) / temperature
    diag = np.diagonal(z)
    lse_rows = _lse(z, axis=1)
    loss = np.mean(lse_rows - diag)
    if symmetric:
        lse_cols = _lse(z, axis=0)
        loss = 0.5 * (loss + np.mean(lse_cols - diag))
    if not with_grad:
        return loss
    g = np.exp(z - lse_rows[:, None])  # P: each row sums to 1
    if symmetric:
        g += np.exp(z - lse_cols[None, :])  # Q: each column sums to 1
        g *= 0.5
    g[np.diag_indices(n)] -= 1.0
    g /= n * temperature
    g_q, g_k = g @ kn, g.T @ qn
    if normalize:
        g_q = _normalize_backward(g_q, qn, q_norm)
        g_k = _normalize_backward(g_k, kn, k_norm)
    return loss, (g_q, g_k)


def _info_nce_extremes():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 3))
    out = []
    for cfg in _INFO_NCE_CONFIGS:
        out += [
            (a, a.copy(), cfg),  # every query equal to its key
            (a, -a, cfg),  # every query opposite its key
            (np.zeros((4, 3)), np.zeros((4, 3)), cfg),  # zero rows: logits 0, loss log N
            (a, np.vstack([np.zeros((1, 3)), a[1:]]), cfg),  # one zero key
            (1e-200 * a, 1e-200 * a[::-1], cfg),  # tiny rows
            (a[:1], a[1:2], cfg),  # a batch of one pair: loss 0
        ]
        if cfg.get("normalize", True):
            out.append((1e150 * a, -1e150 * a[::-1], cfg))  # huge rows: the norm is taken rescaled
        else:
            out.append((100 * a, 100 * a[::-1], cfg))  # logits of ~1e5 / temperature
    return out


_INFO_NCE_CONFIGS = ({}, {"symmetric": True}, {"normalize": False},
                     {"temperature": 0.5, "symmetric": True, "normalize": False}, {"temperature": 0.02})


# --------------------------------------------------------------------------------------------
# NT-Xent (SimCLR, Chen et al. 2020)
# --------------------------------------------------------------------------------------------
def _nt_xent(embeddings, labels, *, with_grad, temperature):
    r"""NT-Xent, SimCLR's loss: each view must pick its partner view out of the batch.

    With :math:`\hat z_i = z_i / \max(\lVert z_i\rVert, 10^{-12})` and :math:`S_{ij} =
    \hat z_i\cdot\hat z_j/\tau`, every ordered pair (i, p) of distinct rows with the same label is
    a positive pair; the rows with another label are i's negatives :math:`\mathcal N(i)`:

    .. math::  \ell_{ip} = -\log \frac{e^{S_{ip}}}{e^{S_{ip}} + \sum_{n \in \mathcal N(i)} e^{S_{in}}}
               = \operatorname{softplus}(A_i - S_{ip}), \quad A_i = \log\sum_{n\in\mathcal N(i)} e^{S_{in}},
               \qquad L = \frac{1}{|\mathcal P|}\sum_{(i,p) \in \mathcal P} \ell_{ip}

    When each label appears exactly twice (two views of N items, 2N rows), :math:`\mathcal P` has
    one pair per row, the denominator runs over every row but i itself, and L is SimCLR's mean over
    the 2N anchors.  A label that appears k > 2 times gives k - 1 positive pairs per row, each scored
    against the negatives only (the other positives are left out of its denominator): this is what
    pytorch-metric-learning's ``NTXentLoss`` and optax's ``ntxent`` compute (mean over positive
    pairs).  Gradient with respect to S (rows of the same label other than p enter neither term):

    .. math::  \frac{\partial L}{\partial S_{ip}} = -\frac{\sigma(A_i - S_{ip})}{|\mathcal P|}, \qquad
               \frac{\partial L}{\partial S_{in}} = \frac{e^{S_{in} - A_i}}{|\mathcal P|}
               \sum_{p} \sigma(A_i - S_{ip}),

    then :math:`\partial L/\partial \hat z = (G + G^\top)\hat z/\tau` (each similarity depends on
    both its rows) and the normalisation's backward pass, as in ``info_nce``.  Labels are not
    differentiated; each must appear at least twice (a row without a partner has no positive:
    ValueError naming ``labels``).  Batch loss, for the reason given in ``info_nce``.  Stability:
    the negatives' log-sum-exp is shifted by its maximum and the pair term is a softplus
    (``logaddexp(0, A - S)``), so no exponential overflows at small temperatures; a batch whose rows
    all share one label has no negatives (:math:`A_i = -\infty`) and loss 0.  Chapter:
    ``book/contrastive/info-nce``.
    """
    _check_rows("embeddings", embeddings)
    u, norm = _normalize(embeddings)
    s = (u @ u.T) / temperature
    same = labels[:, None] == labels[None, :]
    pos = same.copy()
    np.fill_diagonal(pos, False)
    neg = ~same
    a = _lse(np.where(neg, s, -np.inf), axis=1)  # (N,): -inf for a row without negatives
    with np.errstate(invalid="ignore"):
        d = a[:, None] - s  # A_i - S_ip
    n_pairs = int(pos.sum())
    loss = float(np.sum(np.logaddexp(0.0, d[pos]))) / n_pairs
    if not with_grad:
        return loss
    # sigma(A_i - S_ip) = exp(-softplus(S_ip - A_i)): no 1 + tanh cancellation for very negative arguments
    with np.errstate(under="ignore"):
        sig = np.where(pos, np.exp(-np.logaddexp(0.0, -np.where(pos, d, 0.0))), 0.0)
    with np.errstate(under="ignore"):
        soft_neg = np.where(neg, np.exp(np.where(neg, s - a[:, None], -np.inf)), 0.0)
    g = (soft_neg * sig.sum(axis=1, keepdims=True) - sig) / n_pairs
    g_u = (g + g.T) @ u / temperature
    return loss, _normalize_backward(g_u, u, norm)


_NT_XENT_CONFIGS = ({}, {"temperature": 0.5}, {"temperature": 0.02})


def _labelled_extremes(configs, seed, one_label=False):
    """Valid extreme batches for a loss on labelled rows (nt_xent, supervised_contrastive): rows equal
    to their positive, zero rows, tiny and huge rows, a single pair, groups of three, and (where the
    loss allows it) a batch of one label."""
    z = np.random.default_rng(seed).normal(size=(6, 3))
    pairs = np.array([0.0, 0.0, 1.0, 1.0, 2.0, 2.0])
    out = []
    for cfg in configs:
        out += [
            (np.repeat(z[:3], 2, axis=0), pairs, cfg),  # each row equal to its positive
            (np.zeros((4, 3)), pairs[:4], cfg),  # zero rows: every cosine 0
            (np.vstack([np.zeros((1, 3)), z[1:]]), pairs, cfg),  # one zero row
            (1e-200 * z, pairs, cfg),
            (1e150 * z, pairs, cfg),
            (z[:2], pairs[:2], cfg),  # one pair: loss 0
            (z, np.array([4.0, 4.0, 4.0, 7.0, 7.0, 7.0]), cfg),  # groups of three
        ] + ([(z, np.zeros(6), cfg)] if one_label else [])  # one label: everyone is a positive
    return out


def _nt_xent_extremes():
    return _labelled_extremes(_NT_XENT_CONFIGS, seed=1)


# --------------------------------------------------------------------------------------------
# Supervised contrastive loss (Khosla et al. 2020)
# --------------------------------------------------------------------------------------------
def _supervised_contrastive(embeddings, labels, *, with_grad, temperature):
    r"""Supervised contrastive loss (SupCon, Khosla et al. 2020's :math:`L^{sup}_{out}`): every other row with the anchor's label is a positive.

    With :math:`\hat z_i = z_i / \max(\lVert z_i\rVert, 10^{-12})`, :math:`S_{ij} = \hat z_i\cdot\hat
    z_j/\tau`, :math:`P(i)` the other rows with label :math:`y_i` and :math:`A_i = \log\sum_{a\ne i}
    e^{S_{ia}}` (every row but the anchor, positives included):

    .. math::  \ell_i = -\frac{1}{|P(i)|}\sum_{p\in P(i)} \log\frac{e^{S_{ip}}}{\sum_{a\ne i} e^{S_{ia}}}
               = A_i - \frac{1}{|P(i)|}\sum_{p\in P(i)} S_{ip}, \qquad L = \frac1N\sum_{i=1}^N \ell_i

    This is :math:`L_{out}`, the mean over positives taken *outside* the log; Khosla et al. found it
    trains better than :math:`L_{in} = -\log \frac{1}{|P(i)|}\sum_p e^{S_{ip}} / \sum_{a\ne i}
    e^{S_{ia}}` (by Jensen, :math:`L_{in} \le L_{out}`), and it is what their code and
    pytorch-metric-learning's ``SupConLoss`` compute.  With exactly two rows per label it equals
    ``nt_xent`` (SimCLR's loss): in both, an anchor's one positive sits in its own denominator.  They
    differ when a label has three rows or more: ``nt_xent`` leaves the anchor's other positives out
    of each pair's denominator, SupCon keeps them in.  Gradient with respect to S, with
    :math:`Q_{ia}` the softmax of row i over :math:`a \ne i`:

    .. math::  \frac{\partial L}{\partial S_{ia}} = \frac1N\Bigl(Q_{ia} - \frac{[a \in P(i)]}{|P(i)|}\Bigr),

    then :math:`\partial L/\partial \hat z = (G + G^\top)\hat z/\tau` and the normalisation's
    backward pass, as in ``info_nce``.  Each label must appear at least twice (``labels``: a row
    with no positive has no term).  Batch loss, for the reason given in ``info_nce``.  Stability:
    log-sum-exp shifted by the row maximum; zero rows have cosine 0 with everything.
    Chapter: ``book/contrastive/supervised-contrastive``.
    """
    _check_rows("embeddings", embeddings)
    u, norm = _normalize(embeddings)
    s = (u @ u.T) / temperature
    n = len(s)
    pos = labels[:, None] == labels[None, :]
    np.fill_diagonal(pos, False)
    n_pos = pos.sum(axis=1)
    others = s.copy()
    np.fill_diagonal(others, -np.inf)
    a = _lse(others, axis=1)
    loss = float(np.mean(a - np.where(pos, s, 0.0).sum(axis=1) / n_pos))
    if not with_grad:
        return loss
    g = np.exp(others - a[:, None]) - pos / n_pos[:, None]  # exp(-inf) = 0 on the diagonal
    g /= n
    g_u = (g + g.T) @ u / temperature
    return loss, _normalize_backward(g_u, u, norm)


_SUPCON_CONFIGS = ({}, {"temperature": 0.5}, {"temperature": 0.02})


def _supcon_extremes():
    return _labelled_extremes(_SUPCON_CONFIGS, seed=2, one_label=True)


# --------------------------------------------------------------------------------------------
# the registrations
# --------------------------------------------------------------------------------------------
info_nce = Loss(
    "info_nce",
    _info_nce,
    family="embedding",
    chapter="contrastive/info-nce",
    references=("oord2018cpc", "radford2021clip"),
    summary="InfoNCE: softmax cross-entropy of query-key similarities / temperature, the diagonal as target "
            "(symmetric=True: CLIP's loss)",
    args=(Arg("queries"), Arg("keys")),
    batch=True,
    hyper={
        "temperature": Hyper(0.1, ">0", "divides the similarities; small values weight the hardest negatives"),
        "symmetric": Hyper(False, "bool", "average the query-to-key and key-to-query losses (CLIP)"),
        "normalize": Hyper(True, "bool", "cosine similarity (rows L2-normalised) instead of the dot product"),
    },
    configs=_INFO_NCE_CONFIGS,
    ndims=(2,),
    extremes=_info_nce_extremes,
)

nt_xent = Loss(
    "nt_xent",
    _nt_xent,
    family="embedding",
    chapter="contrastive/info-nce",
    references=("chen2020simclr", "sohn2016npair"),
    summary="NT-Xent (SimCLR): cosine similarities / temperature, each row's partner view against the "
            "other-label rows, mean over positive pairs",
    args=(Arg("embeddings"), Arg("labels", domain="groups", diff=False, kind="row")),
    batch=True,
    hyper={"temperature": Hyper(0.1, ">0", "divides the cosine similarities")},
    configs=_NT_XENT_CONFIGS,
    ndims=(2,),
    extremes=_nt_xent_extremes,
)

supervised_contrastive = Loss(
    "supervised_contrastive",
    _supervised_contrastive,
    family="embedding",
    chapter="contrastive/supervised-contrastive",
    references=("khosla2020supcon",),
    summary="SupCon (L_out): for each anchor, the mean over its same-label rows of -log softmax over all other rows",
    args=(Arg("embeddings"), Arg("labels", domain="groups", diff=False, kind="row")),
    batch=True,
    hyper={"temperature": Hyper(0.1, ">0", "divides the cosine similarities (the authors' code defaults to 0.07, pytorch-metric-learning to 0.1)")},
    configs=_SUPCON_CONFIGS,
    ndims=(2,),
    extremes=_supcon_extremes,
)
