"""Similarity and embedding losses: cosine similarity, cosine embedding, contrastive, triplet, quadruplet.

These losses compare *vectors* (rows of an ``(N, D)`` array): a prediction with a target
(``cosine_similarity``, the ordinary ``(y_true, y_pred)`` pair), or several embeddings with one
another (the others, which take their inputs in the order named by ``args``, e.g.
``lb.triplet(anchor, positive, negative, margin=1.0)``, and whose ``.grad`` returns one gradient
per embedding).  Chapters: ``book/embedding/cosine``, ``book/embedding/triplet``.
Their framework counterparts (torch, Keras, ...), with the recipes, are in ``lossbook/counterparts.py``.
"""
from __future__ import annotations

import functools

import numpy as np

from .core import KERAS_EPSILON, Arg, Hyper, Loss

__all__ = ["cosine_similarity", "cosine_embedding", "contrastive", "triplet", "quadruplet", "batch_hard_triplet"]

# torch's CosineEmbeddingLoss adds ATen's EPSILON to each squared norm; it is a C++ *float* 1e-12, i.e.
# 9.999999960041972e-13 in float64 (measured: with 1e-12 exactly, identical [1e-6, 0] rows differ by 1e-9)
ATEN_EPSILON = float(np.float32(1e-12))
KINK_TOL = 1e-3  # how close to a hinge point the finite-difference tests keep away from


# --------------------------------------------------------------------------------------------
# small shared pieces
# --------------------------------------------------------------------------------------------
def _norm(v, p=2.0):
    """Row-wise p-norm of an (N, D) array, computed on rows scaled by their largest entry.

    Scaling keeps sum(|v|**p) from overflowing (|v| ~ 1e200) or underflowing (|v| ~ 1e-200);
    an all-zero row has norm 0.  For p = 2 (the common case) the plain ``sqrt(sum(v * v))`` is
    taken first, in one pass, and only rows whose sum of squares overflowed or came near the
    underflow range are redone with scaling.
    """
    if p == 2.0:
        with np.errstate(over="ignore", under="ignore"):
            sumsq = np.einsum("...i,...i->...", v, v)
        norm = np.sqrt(sumsq)
        redo = ~((sumsq >= 1e-290) & (sumsq <= np.finfo(float).max))
        if redo.any():
            norm[redo] = _scaled_norm(v[redo], 2.0)
        return norm
    return _scaled_norm(v, p)


def _scaled_norm(v, p):
    big = np.max(np.abs(v), axis=-1, keepdims=True)
    safe = np.where(big > 0, big, 1.0)
    return big[..., 0] * np.sum((np.abs(v) / safe) ** p, axis=-1) ** (1.0 / p)


def _norm_grad(v, norm, p=2.0):
    """Gradient of the p-norm, sign(v) (|v| / ||v||)**(p-1), written with the ratio |v|/||v|| <= 1.

    Where ||v|| = 0 the norm has no gradient; we return 0 there (torch's choice for
    ``vector_norm`` at 0), and a zero entry gets 0 also for p < 1.  For p = 2 it is v / ||v||
    (a zero row stays zero when divided by 1).
    """
    n = np.where(norm > 0, norm, 1.0)[:, None]
    if p == 2.0:
        return v / n
    ratio = np.abs(v) / n
    with np.errstate(divide="ignore"):
        g = np.sign(v) * np.where(ratio > 0, ratio, 1.0) ** (p - 1.0)
    return np.where((norm[:, None] > 0) & (v != 0), g, 0.0)


def _rowwise(n_same):
    """Let a per-sample function written for (N, D) rows accept (N,) inputs too (as (N, 1) rows).

    The first ``n_same`` inputs are the vectors; the rest (labels) are (N,) already.  Gradients
    come back in the shape the inputs had.
    """

    def wrap(fn):
        @functools.wraps(fn)
        def wrapped(*arrays, with_grad, **hyper):
            flat = arrays[0].ndim == 1
            if flat:
                arrays = tuple(x[:, None] for x in arrays[:n_same]) + tuple(arrays[n_same:])
            out = fn(*arrays, with_grad=with_grad, **hyper)
            if not (with_grad and flat):
                return out
            loss, grads = out
            if isinstance(grads, tuple):
                return loss, tuple(g[:, 0] for g in grads)
            return loss, grads[:, 0]

        return wrapped

    return wrap


def _rows(x):
    """float (N, D) rows; an (N,) input becomes (N, 1) (for the kink masks)."""
    x = np.asarray(x, float)
    return x[:, None] if x.ndim == 1 else x


# --------------------------------------------------------------------------------------------
# cosine similarity, Keras's loss: the NEGATED cosine
# --------------------------------------------------------------------------------------------
def _keras_normalize(x):
    """x / max(||x||, eps) per row: what Keras 3's ``normalize`` computes (as x * min(rsqrt, 1/eps))."""
    norm = _norm(x)
    return x / np.maximum(norm, KERAS_EPSILON)[:, None], norm


@_rowwise(2)
def _cosine_similarity(y_true, y_pred, *, with_grad):
    r"""Keras's cosine-similarity loss: the *negated* cosine of the angle between rows.

    .. math::  \ell_i = -\,\frac{y_i}{\max(\lVert y_i\rVert, \varepsilon)} \cdot
               \frac{\hat y_i}{\max(\lVert \hat y_i\rVert, \varepsilon)}, \qquad \varepsilon = 10^{-7}

    so -1 means the vectors point the same way, +1 opposite ways, 0 orthogonal.  For
    ``||y_pred|| > eps``, with :math:`u = \hat y/\lVert\hat y\rVert` and :math:`t` the normalised target,

    .. math::  \frac{\partial \ell_i}{\partial \hat y_i} = -\frac{t - (t\cdot u)\,u}{\lVert \hat y_i \rVert},

    which is orthogonal to :math:`\hat y_i` (the loss does not depend on the length of the
    prediction).  Below ``eps`` Keras divides by ``eps`` instead, the loss is linear in
    :math:`\hat y` and its gradient is :math:`-t/\varepsilon`; a zero vector (either side) gives
    loss 0, as in Keras.  Stability: norms are computed on rows scaled by their largest entry, so
    vectors of 1e-200 or 1e200 are fine.  ``y_true`` is not differentiated.
    Chapter: ``book/embedding/cosine``.
    """
    t, _ = _keras_normalize(y_true)
    u, norm = _keras_normalize(y_pred)
    cos = np.sum(t * u, axis=-1)
    loss = -cos
    if not with_grad:
        return loss
    above = norm > KERAS_EPSILON
    n = np.where(above, norm, KERAS_EPSILON)[:, None]
    # above eps: the tangential part of t, divided by ||y_pred||; below: the linear region -t/eps
    grad = np.where(above[:, None], -(t - cos[:, None] * u) / n, -t / KERAS_EPSILON)
    return loss, grad


def _cosine_kinks(y_true, y_pred):
    norm = _norm(_rows(y_pred))
    return np.abs(norm - KERAS_EPSILON) < KINK_TOL * max(KERAS_EPSILON, 1e-6)


def _cosine_extremes():
    e1 = np.array([[1.0, 0.0, 0.0]])
    rows_t = np.array([[1.0, 2.0, 3.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 1.0, 0.0], [1e-200, 0, 0],
                       [1e200, -1e200, 0.0], [1.0, 1e-9, 0.0]])
    rows_p = np.array([[1.0, 2.0, 3.0 + 1e-12], [1e-300, 0.0, 0.0], [1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [1e-8, 0, 0],
                       [1e200, 1e200, 1e-200], [1.0, -1e-9, 0.0]])
    return [(rows_t, rows_p, {}), (e1, -e1, {}), (e1, 1e-7 * e1, {})]


cosine_similarity = Loss(
    "cosine_similarity",
    _cosine_similarity,
    family="embedding",
    chapter="embedding/cosine",
    summary="negated cosine of the angle between target and prediction rows (Keras's sign: -1 is best)",
    kinks=_cosine_kinks,
    configs=({},),
    ndims=(2,),
    extremes=_cosine_extremes,
)


# --------------------------------------------------------------------------------------------
# torch's CosineEmbeddingLoss
# --------------------------------------------------------------------------------------------
def _aten_cosine(x1, x2):
    """torch's cosine inside CosineEmbeddingLoss: x1.x2 / sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12)).

    Returns the cosine and the two halves of the denominator (sqrt(a), sqrt(b)).  The square roots
    are taken separately (torch takes sqrt(a*b)), which is the same number but cannot overflow for
    rows of norm up to ~1e154.
    """
    ra = np.sqrt(np.sum(x1 * x1, axis=-1) + ATEN_EPSILON)
    rb = np.sqrt(np.sum(x2 * x2, axis=-1) + ATEN_EPSILON)
    return np.sum(x1 * x2, axis=-1) / (ra * rb), ra, rb


@_rowwise(2)
def _cosine_embedding(x1, x2, y, *, with_grad, margin):
    r"""torch's ``CosineEmbeddingLoss``: pull similar pairs to cosine 1, push dissimilar ones below a margin.

    .. math::  c_i = \frac{x_{1i}\cdot x_{2i}}{\sqrt{(\lVert x_{1i}\rVert^2+\epsilon)(\lVert x_{2i}\rVert^2+\epsilon)}},
               \qquad \ell_i = \begin{cases} 1 - c_i & y_i = 1 \\ \max(0,\; c_i - m) & y_i = -1 \end{cases},
               \qquad \epsilon = 10^{-12}

    With :math:`a = \lVert x_1\rVert^2+\epsilon`, :math:`b = \lVert x_2\rVert^2+\epsilon`:

    .. math::  \frac{\partial c}{\partial x_1} = \frac{x_2}{\sqrt{ab}} - c\,\frac{x_1}{a}, \qquad
               \frac{\partial c}{\partial x_2} = \frac{x_1}{\sqrt{ab}} - c\,\frac{x_2}{b}

    and :math:`\partial\ell/\partial x = -\partial c/\partial x` for similar pairs,
    :math:`+\partial c/\partial x` for dissimilar pairs with :math:`c > m`, 0 otherwise.  The
    :math:`\epsilon` sits inside each squared norm (torch's placement, kept so the values agree to
    float64 rounding): the loss is smooth everywhere, zero vectors give c = 0, but tiny vectors are
    no longer scale-free (two identical rows [1e-6, 0] have c = 0.5).  ``y`` in {1, -1}: torch
    silently gives 0 for any other target, lossbook refuses it.  Chapter: ``book/embedding/cosine``.
    """
    c, ra, rb = _aten_cosine(x1, x2)
    similar = y == 1
    pushed = (~similar) & (c > margin)
    loss = np.where(similar, 1.0 - c, np.where(pushed, c - margin, 0.0))
    if not with_grad:
        return loss
    sign = np.where(similar, -1.0, np.where(pushed, 1.0, 0.0))[:, None]
    dc1 = x2 / (ra * rb)[:, None] - (c / ra**2)[:, None] * x1
    dc2 = x1 / (ra * rb)[:, None] - (c / rb**2)[:, None] * x2
    return loss, (sign * dc1, sign * dc2)


def _cosine_embedding_kinks(x1, x2, y, *, margin):
    c = _aten_cosine(_rows(x1), _rows(x2))[0]
    return (np.asarray(y) == -1) & (np.abs(c - margin) < KINK_TOL)


def _cosine_embedding_extremes():
    x = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [1e-6, 0.0, 0.0], [1e100, -1e100, 1.0], [1.0, 0.0, 0.0]])
    z = np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0], [1e-6, 0.0, 0.0], [1e100, 1e100, 0.0], [0.0, 1.0, 0.0]])
    out = []
    for cfg in ({}, {"margin": 0.5}):
        m = cfg.get("margin", 0.0)
        out.append((x, z, np.array([1.0, -1.0, 1.0, -1.0, 1.0]), cfg))
        out.append((x, -z, np.array([-1.0, 1.0, -1.0, 1.0, -1.0]), cfg))
        # a dissimilar pair exactly at the hinge: cos = m
        a = np.array([[1.0, 0.0]])
        b = np.array([[m, np.sqrt(1 - m * m)]])
        out.append((a, b, np.array([-1.0]), cfg))
    return out


cosine_embedding = Loss(
    "cosine_embedding",
    _cosine_embedding,
    family="embedding",
    chapter="embedding/cosine",
    summary="pairs of vectors: 1 - cos for similar pairs, max(0, cos - margin) for dissimilar ones",
    args=(Arg("x1"), Arg("x2"), Arg("y", domain="signed", diff=False, kind="row")),
    hyper={"margin": Hyper(0.0, "real", "cosine below which a dissimilar pair costs nothing (torch: in [-1, 1])")},
    kinks=_cosine_embedding_kinks,
    configs=({}, {"margin": 0.5}),
    ndims=(2,),
    extremes=_cosine_embedding_extremes,
)


# --------------------------------------------------------------------------------------------
# contrastive loss (Hadsell, Chopra, LeCun 2006)
# --------------------------------------------------------------------------------------------
@_rowwise(2)
def _contrastive(x1, x2, y, *, with_grad, margin):
    r"""Contrastive loss of Hadsell, Chopra and LeCun (2006), on the Euclidean distance of a pair.

    .. math::  d_i = \lVert x_{1i} - x_{2i} \rVert_2, \qquad
               \ell_i = y_i\,\tfrac12 d_i^2 + (1 - y_i)\,\tfrac12 \max(0,\; m - d_i)^2

    with **y = 1 for a similar pair** and 0 for a dissimilar one (the paper writes Y = 0 for
    similar pairs: swap the labels to read its equations).  With :math:`v = x_1 - x_2`:

    .. math::  \frac{\partial \ell_i}{\partial x_{1i}} = y_i\, v
               - (1 - y_i)\max(0, m - d_i)\,\frac{v}{d_i}, \qquad
               \frac{\partial \ell_i}{\partial x_{2i}} = -\frac{\partial \ell_i}{\partial x_{1i}}

    Stability: the similar term is differentiated as :math:`\tfrac12\lVert v\rVert^2` (gradient
    v, fine at d = 0), never through the square root.  The dissimilar term has a true kink at
    d = 0 (a cone, :math:`\tfrac12 m^2 - m d + \dots`): there ``v / d`` is 0/0, and we return the
    gradient 0 (what torch's ``vector_norm`` gives at 0), where the naive ``sqrt(sum(v**2))``
    gives NaN.  At d = m the squared hinge is smooth.  Chapter: ``book/embedding/triplet``.
    """
    v = x1 - x2
    d = _norm(v)
    hinge = np.maximum(0.0, margin - d)
    loss = y * 0.5 * np.einsum("ij,ij->i", v, v) + (1.0 - y) * 0.5 * hinge**2
    if not with_grad:
        return loss
    # g1 = y v - (1 - y) hinge v / d: one factor per row times v (0 where d = 0, as v is 0 there)
    v *= (y - (1.0 - y) * hinge / np.where(d > 0, d, 1.0))[:, None]
    return loss, (v, -v)


def _contrastive_kinks(x1, x2, y, *, margin):
    d = _norm(_rows(x1) - _rows(x2))
    return (np.asarray(y) == 0) & (d < KINK_TOL)


def _contrastive_extremes():
    a = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [1e150, 0.0, 0.0], [1e-200, 0.0, 0.0]])
    b = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 0.0, 0.0], [-1e150, 0.0, 0.0], [0.0, 0.0, 0.0]])
    out = []
    for cfg in ({}, {"margin": 2.0}):
        m = cfg.get("margin", 1.0)
        out.append((a, b, np.array([1.0, 0.0, 0.0, 1.0, 0.0]), cfg))  # identical points, both labels
        at_hinge = np.array([[0.0, 0.0], [0.0, 0.0]]), np.array([[m, 0.0], [0.0, m]])
        out.append((*at_hinge, np.array([0.0, 1.0]), cfg))
    return out


contrastive = Loss(
    "contrastive",
    _contrastive,
    family="embedding",
    chapter="embedding/triplet",
    references=("hadsell2006dimensionality",),
    summary="pairs: half the squared distance for similar pairs, half the squared shortfall below a margin otherwise",
    args=(Arg("x1"), Arg("x2"), Arg("y", domain="binary", diff=False, kind="row")),
    hyper={"margin": Hyper(1.0, ">0", "distance beyond which a dissimilar pair costs nothing")},
    kinks=_contrastive_kinks,
    configs=({}, {"margin": 2.0}),
    ndims=(2,),
    extremes=_contrastive_extremes,
)


# --------------------------------------------------------------------------------------------
# triplet margin loss: torch's TripletMarginLoss, and seed 001's squared form
# --------------------------------------------------------------------------------------------
def _distance(x, z, p, eps, squared):
    """torch's ``pairwise_distance``, ||x - z + eps||_p (or its square), and its gradient w.r.t. x.

    torch adds eps to the *difference* before the norm, so d(x, x) = eps * D**(1/p), not 0.  For
    the squared Euclidean form the square is taken directly (sum of squares, gradient 2v), never as
    the square of a square root.
    """
    v = x - z
    if eps:
        v += eps
    if squared and p == 2.0:
        d = np.einsum("ij,ij->i", v, v)
        v *= 2.0
        return d, v
    d = _norm(v, p)
    g = _norm_grad(v, d, p)
    if squared:  # d**2 for another p: 2 d grad(d), which is 0 at d = 0 whatever grad(d) is
        return d * d, 2.0 * d[:, None] * g
    return d, g


@_rowwise(3)
def _triplet(anchor, positive, negative, *, with_grad, margin, p, eps, swap, squared):
    r"""Triplet margin loss: the anchor should be closer to the positive than to the negative, by a margin.

    .. math::  \ell_i = \max\bigl(0,\; d(a_i, p_i) - d(a_i, n_i) + m\bigr), \qquad
               d(x, z) = \lVert x - z + \epsilon \rVert_p \quad(\text{or } \lVert x - z + \epsilon\rVert_p^2
               \text{ with } \texttt{squared=True})

    ``squared=False`` is torch's ``TripletMarginLoss(margin, p, eps, swap)`` (FaceNet's loss
    with plain distances); ``squared=True, p=2, eps=0`` is the squared-distance form of FaceNet
    (Schroff et al. 2015) that seed 001 writes with ``alpha``: ``triplet_loss(..., alpha=0.2)`` is
    ``lb.triplet(a, p, n, margin=0.2, squared=True, eps=0.0)``.  ``swap=True`` replaces
    d(a, n) by min(d(a, n), d(p, n)) (Balntas et al. 2016's distance swap).  With the hinge active
    and :math:`g(x, z) = \nabla_x d(x, z)` (for the p-norm,
    :math:`\operatorname{sign}(v)\,(|v|/\lVert v\rVert_p)^{p-1}`, v = x - z + eps; for the squared
    Euclidean form 2v):

    .. math::  \frac{\partial\ell}{\partial a} = g(a, p) - g(a, n), \quad
               \frac{\partial\ell}{\partial p} = -g(a, p), \quad
               \frac{\partial\ell}{\partial n} = g(a, n)

    (with the swap active, the negative term moves from the anchor to the positive).  All three are
    0 when the hinge is inactive.  Stability: eps is where torch puts it, added to the difference
    (measured: d(a, a) = 2e-6 for D = 4), which keeps the gradient of the norm defined at a = p;
    with eps = 0 and a = p we return the subgradient 0.  Norms are computed on rescaled rows.
    Chapter: ``book/embedding/triplet``.
    """
    d_ap, g_ap = _distance(anchor, positive, p, eps, squared)
    d_an, g_an = _distance(anchor, negative, p, eps, squared)
    use_pn = np.zeros(d_an.shape, bool)
    if swap:
        d_pn, g_pn = _distance(positive, negative, p, eps, squared)
        use_pn = d_pn < d_an  # torch's min(d_an, d_pn); a tie takes d_an
        d_neg = np.where(use_pn, d_pn, d_an)
    else:
        d_neg = d_an
    pre = margin + d_ap - d_neg
    loss = np.maximum(pre, 0.0)
    if not with_grad:
        return loss
    # row factors: 1 where the hinge is active (and, for the negative term, where that distance won)
    on = (pre > 0).astype(float)[:, None]
    g_ap *= on
    g_an *= on * (~use_pn)[:, None]
    g_a = g_ap - g_an
    g_p = np.negative(g_ap, out=g_ap)
    g_n = g_an
    if swap:
        g_pn *= on * use_pn[:, None]
        g_p -= g_pn
        g_n += g_pn
    return loss, (g_a, g_p, g_n)


def _triplet_kinks(anchor, positive, negative, *, margin, p, eps, swap, squared):
    a, pos, neg = (_rows(x) for x in (anchor, positive, negative))
    d_ap = _distance(a, pos, p, eps, squared)[0]
    d_an = _distance(a, neg, p, eps, squared)[0]
    near = np.abs(margin + d_ap - d_an) < KINK_TOL
    if swap:
        d_pn = _distance(pos, neg, p, eps, squared)[0]
        near |= np.abs(d_an - d_pn) < KINK_TOL
        near |= np.abs(margin + d_ap - np.minimum(d_an, d_pn)) < KINK_TOL
    if p <= 1.0:  # |v| has a kink at every zero entry
        for x, z in ((a, pos), (a, neg), (pos, neg)):
            near |= np.any(np.abs(x - z + eps) < KINK_TOL, axis=-1)
    return near


def _triplet_extremes():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 3))
    out = []
    for cfg in ({}, {"margin": 0.5, "p": 1.0}, {"swap": True}, {"squared": True, "eps": 0.0, "margin": 0.2}):
        # identical anchor and positive; anchor = negative; all three identical; a huge and a tiny scale
        out.append((a, a.copy(), a + 1.0, cfg))
        out.append((a, a + 1.0, a.copy(), cfg))
        out.append((a, a.copy(), a.copy(), cfg))
        out.append((1e100 * a, -1e100 * a, 1e100 * a, cfg))
        out.append((1e-200 * a, np.zeros_like(a), -1e-200 * a, cfg))
    # exactly at the hinge (seed 001's form): d(a, n) - d(a, p) = 0.29 - 0.09 = margin
    z = np.zeros((1, 2))
    out.append((z, z + [[0.3, 0.0]], z + [[np.sqrt(0.29), 0.0]], {"squared": True, "eps": 0.0, "margin": 0.2}))
    # and with torch's defaults: margin 1, the negative 1 farther than the positive (up to eps)
    out.append((z, z + [[0.5, 0.0]], z + [[-1.5, 0.0]], {}))
    return out


triplet = Loss(
    "triplet",
    _triplet,
    family="embedding",
    chapter="embedding/triplet",
    references=("schroff2015facenet",),
    summary="anchor closer to the positive than to the negative by a margin (torch's TripletMarginLoss; "
            "squared=True: seed 001's alpha form)",
    args=(Arg("anchor"), Arg("positive"), Arg("negative")),
    hyper={
        "margin": Hyper(1.0, ">=0", "required gap between d(a, n) and d(a, p) (seed 001's alpha)"),
        "p": Hyper(2.0, ">0", "order of the norm"),
        "eps": Hyper(1e-6, ">=0", "added to the difference inside the norm, as torch does"),
        "swap": Hyper(False, "bool", "use min(d(a, n), d(p, n)) as the negative distance"),
        "squared": Hyper(False, "bool", "square the distances (seed 001's and FaceNet's form)"),
    },
    kinks=_triplet_kinks,
    configs=({}, {"margin": 0.5, "p": 1.0}, {"swap": True}, {"squared": True, "eps": 0.0, "margin": 0.2},
             {"eps": 0.0}),  # the textbook distance, which optax computes
    ndims=(2,),
    extremes=_triplet_extremes,
)


# --------------------------------------------------------------------------------------------
# quadruplet loss (Chen et al., CVPR 2017)
# --------------------------------------------------------------------------------------------
@_rowwise(4)
def _quadruplet(anchor, positive, negative1, negative2, *, with_grad, margin1, margin2):
    r"""Quadruplet loss of Chen, Chen, Zhang and Huang (CVPR 2017), on squared Euclidean distances.

    .. math::  \ell_i = \max\bigl(0,\; d(a,p) - d(a,n_1) + m_1\bigr)
               + \max\bigl(0,\; d(a,p) - d(n_1,n_2) + m_2\bigr), \qquad d(x, z) = \lVert x - z\rVert_2^2

    The first term is the triplet loss; the second asks the anchor-positive distance to be smaller
    than the distance between two negatives that share no class with the anchor (nor with each
    other), a pair that does not contain the anchor at all, with a smaller margin
    :math:`m_2 < m_1` (the paper's "weaker push").  With :math:`t_1, t_2 \in \{0, 1\}` the two
    hinges' activity:

    .. math::  \frac{\partial\ell}{\partial a} = 2t_1(n_1 - p) + 2t_2(a - p), \quad
               \frac{\partial\ell}{\partial p} = -2(t_1 + t_2)(a - p),

    .. math::  \frac{\partial\ell}{\partial n_1} = 2t_1(a - n_1) - 2t_2(n_1 - n_2), \quad
               \frac{\partial\ell}{\partial n_2} = 2t_2(n_1 - n_2)

    Squared distances are smooth, so nothing needs an epsilon; the only kinks are the two hinges.
    Chapter: ``book/embedding/triplet``.
    """
    v_ap, v_an, v_nn = anchor - positive, anchor - negative1, negative1 - negative2
    d_ap, d_an, d_nn = (np.sum(v * v, axis=-1) for v in (v_ap, v_an, v_nn))
    h1, h2 = margin1 + d_ap - d_an, margin2 + d_ap - d_nn
    loss = np.maximum(h1, 0.0) + np.maximum(h2, 0.0)
    if not with_grad:
        return loss
    t1, t2 = (h1 > 0).astype(float)[:, None], (h2 > 0).astype(float)[:, None]
    g_a = 2 * t1 * (v_ap - v_an) + 2 * t2 * v_ap  # v_ap - v_an = n1 - p
    g_p = -2 * (t1 + t2) * v_ap
    g_n1 = 2 * t1 * v_an - 2 * t2 * v_nn
    g_n2 = 2 * t2 * v_nn
    return loss, (g_a, g_p, g_n1, g_n2)


def _quadruplet_kinks(anchor, positive, negative1, negative2, *, margin1, margin2):
    a, p, n1, n2 = (_rows(x) for x in (anchor, positive, negative1, negative2))
    d = lambda x, z: np.sum((x - z) ** 2, axis=-1)  # noqa: E731
    return (np.abs(margin1 + d(a, p) - d(a, n1)) < KINK_TOL) | (np.abs(margin2 + d(a, p) - d(n1, n2)) < KINK_TOL)


def _quadruplet_extremes():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(4, 3))
    out = []
    for cfg in ({}, {"margin1": 2.0, "margin2": 0.0}):
        out.append((a, a.copy(), a.copy(), a.copy(), cfg))  # every point identical
        out.append((a, a + 1.0, a.copy(), a + 1.0, cfg))
        out.append((1e100 * a, -1e100 * a, 1e100 * a, -1e100 * a, cfg))
        out.append((1e-200 * a, np.zeros_like(a), -1e-200 * a, 1e-200 * a, cfg))
    # both hinges exactly at zero with the default margins: d(a,n1) = d(a,p) + 1, d(n1,n2) = d(a,p) + 0.5
    z = np.zeros((1, 1))
    out.append((z, z + 0.5, z + np.sqrt(1.25), z + np.sqrt(1.25) + np.sqrt(0.75), {}))
    return out


quadruplet = Loss(
    "quadruplet",
    _quadruplet,
    family="embedding",
    chapter="embedding/triplet",
    references=("chen2017quadruplet",),
    summary="triplet loss plus a second hinge: d(a, p) below the distance between two other-class negatives",
    args=(Arg("anchor"), Arg("positive"), Arg("negative1"), Arg("negative2")),
    hyper={
        "margin1": Hyper(1.0, ">=0", "margin of the triplet term d(a, p) < d(a, n1)"),
        "margin2": Hyper(0.5, ">=0", "margin of the second term d(a, p) < d(n1, n2) (the weaker push)"),
    },
    kinks=_quadruplet_kinks,
    configs=({}, {"margin1": 2.0, "margin2": 0.0}),
    ndims=(2,),
    extremes=_quadruplet_extremes,
)


# --------------------------------------------------------------------------------------------
# batch-hard triplet loss (Hermans et al. 2017): the triplet loss with its triplets mined in the batch
# --------------------------------------------------------------------------------------------
def _pairwise(x):
    """All differences x_i - x_j, (N, N, D), and the Euclidean distances, (N, N), from them (not from
    |a|^2 + |b|^2 - 2 a.b, which cancels to noise for close rows)."""
    diff = x[:, None, :] - x[None, :, :]
    return diff, _norm(diff.reshape(-1, x.shape[1])).reshape(len(x), len(x))


def _hardest(d, labels):
    """Per anchor: the farthest positive, the closest negative (first index on ties) and whether it has one."""
    same = labels[:, None] == labels[None, :]
    pos = same.copy()
    np.fill_diagonal(pos, False)
    hp = np.where(pos, d, -np.inf).argmax(axis=1)
    hn = np.where(same, np.inf, d).argmin(axis=1)
    return hp, hn, (~same).any(axis=1)


def _batch_hard_triplet(embeddings, labels, *, with_grad, margin, soft):
    r"""Batch-hard triplet loss: each anchor against its farthest positive and its closest negative in the batch.

    With Euclidean distances :math:`d_{ij} = \lVert x_i - x_j\rVert` (not squared), :math:`P(i)`
    the other rows with label :math:`y_i` and :math:`N(i)` the rows with another label:

    .. math::  \ell_i = h\Bigl(m + \max_{p \in P(i)} d_{ip} - \min_{n \in N(i)} d_{in}\Bigr), \qquad
               L = \frac1N \sum_{i=1}^N \ell_i

    with :math:`h(t) = \max(0, t)` or, ``soft=True``, :math:`h(t) = \log(1 + e^t)`.  Hermans et
    al.'s soft margin is ``soft=True, margin=0``; with a margin it is pytorch-metric-learning's
    ``smooth_loss=True``.  The mining is part of the loss: with :math:`(p_i, n_i)` the chosen pair
    (the first index on a tie) and :math:`c_i = h'(\cdot)` (1 where the hinge is active, the
    sigmoid for the soft form), the gradient is the triplet loss's on those triplets:

    .. math::  \frac{\partial L}{\partial x_i} \mathrel{+}= \frac{c_i}{N}(u_{ip_i} - u_{in_i}), \quad
               \frac{\partial L}{\partial x_{p_i}} \mathrel{-}= \frac{c_i}{N} u_{ip_i}, \quad
               \frac{\partial L}{\partial x_{n_i}} \mathrel{+}= \frac{c_i}{N} u_{in_i}, \qquad
               u_{ij} = \frac{x_i - x_j}{d_{ij}}

    (:math:`u = 0` where :math:`d = 0`: the subgradient, as in ``triplet``).  An anchor with no
    negative (a batch of one label) contributes 0; each label must appear at least twice
    (``labels``: an anchor needs a positive).  Batch loss: the mined pair of one anchor is chosen by
    the others' embeddings.  Stability: distances from the differences, on rescaled rows (no
    overflow at 1e150, no cancellation for near-identical rows); the soft form is
    ``logaddexp(0, t)``.  Chapter: ``book/contrastive/batch-hard-triplet``.
    """
    if embeddings.ndim != 2:
        raise ValueError(f"embeddings must have shape (N, D), one embedding per row; got {embeddings.shape}")
    n = len(embeddings)
    diff, d = _pairwise(embeddings)
    hp, hn, has_neg = _hardest(d, labels)
    rows = np.arange(n)
    d_ap, d_an = d[rows, hp], np.where(has_neg, d[rows, hn], np.inf)
    pre = margin + d_ap - d_an
    if soft:
        terms = np.where(has_neg, np.logaddexp(0.0, np.where(has_neg, pre, 0.0)), 0.0)
    else:
        terms = np.maximum(pre, 0.0)
    loss = float(np.mean(terms))
    if not with_grad:
        return loss
    if soft:
        with np.errstate(under="ignore"):
            c = np.where(has_neg, np.exp(-np.logaddexp(0.0, -np.where(has_neg, pre, 0.0))), 0.0)
    else:
        c = (pre > 0).astype(float)
    c /= n
    safe = lambda dist: np.where(dist > 0, dist, 1.0)[:, None]
    u_ap = diff[rows, hp] / safe(d_ap)
    u_an = np.where(has_neg[:, None], diff[rows, hn], 0.0) / safe(np.where(has_neg, d_an, 1.0))
    g = (u_ap - u_an) * c[:, None]
    np.add.at(g, hp, -u_ap * c[:, None])
    np.add.at(g, hn, u_an * c[:, None])
    return loss, g


def _batch_hard_kinks(embeddings, labels, *, margin, soft):
    """Rows of a triplet at a tie for the hardest pair, at the hinge, or at a zero distance."""
    n = len(embeddings)
    _, d = _pairwise(embeddings)
    hp, hn, _ = _hardest(d, labels)
    same = labels[:, None] == labels[None, :]
    rows = np.arange(n)
    tol = KINK_TOL * (1 + d)
    tie_p = ((np.abs(d - d[rows, hp][:, None]) < tol) & same).sum(1) > 2  # the anchor itself and hp
    tie_n = ((np.abs(d - d[rows, hn][:, None]) < tol) & ~same).sum(1) > 1
    hinge = np.abs(margin + d[rows, hp] - d[rows, hn]) < KINK_TOL if not soft else np.zeros(n, bool)
    zero = (d[rows, hp] < KINK_TOL) | (d[rows, hn] < KINK_TOL)
    bad = tie_p | tie_n | hinge | zero
    out = bad.copy()
    out[hp[bad]] = True
    out[hn[bad]] = True
    return out


_BATCH_HARD_CONFIGS = ({}, {"margin": 0.0, "soft": True}, {"margin": 0.2, "soft": True}, {"margin": 0.2})


def _batch_hard_extremes():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(6, 3))
    pairs = np.array([0.0, 0.0, 1.0, 1.0, 2.0, 2.0])
    out = []
    for cfg in _BATCH_HARD_CONFIGS:
        out += [
            (np.repeat(z[:3], 2, axis=0), pairs, cfg),  # each row equal to its positive: d_ap = 0
            (np.zeros((4, 3)), pairs[:4], cfg),  # every distance 0
            (1e-200 * z, pairs, cfg),
            (1e150 * z, pairs, cfg),
            (1e4 * z, pairs, cfg),  # the soft form far from 0 both ways
            (z, np.zeros(6), cfg),  # one label: no negatives, loss 0
            (z, np.array([4.0, 4.0, 4.0, 7.0, 7.0, 7.0]), cfg),
        ]
    return out


batch_hard_triplet = Loss(
    "batch_hard_triplet",
    _batch_hard_triplet,
    family="embedding",
    chapter="contrastive/batch-hard-triplet",
    references=("hermans2017defense",),
    summary="triplet loss on in-batch mined triplets: each anchor's farthest positive and closest negative "
            "(Euclidean), mean over anchors",
    args=(Arg("embeddings"), Arg("labels", domain="groups", diff=False, kind="row")),
    batch=True,
    hyper={"margin": Hyper(1.0, ">=0", "the distance by which the closest negative must be farther than the "
                                       "farthest positive"),
           "soft": Hyper(False, "bool", "softplus instead of the hinge (Hermans et al.'s soft margin: margin=0)")},
    kinks=_batch_hard_kinks,
    configs=_BATCH_HARD_CONFIGS,
    ndims=(2,),
    extremes=_batch_hard_extremes,
)


# --------------------------------------------------------------------------------------------
# batch composition: what the embedding losses are fed (chapter: embedding/digits-embedding)
# --------------------------------------------------------------------------------------------
def pk_batch(labels, rng: np.random.Generator, *, P: int, K: int) -> np.ndarray:
    """Indices of a "P x K" batch (Hermans et al.): ``P`` classes drawn at random, ``K`` samples of each.

    Every anchor then has ``K - 1`` positives and ``(P - 1) K`` negatives in its own batch, which is
    what in-batch mining needs.
    """
    labels = np.asarray(labels)
    classes = np.unique(labels)
    if not 1 <= P <= len(classes):
        raise ValueError(f"P must be between 1 and the number of classes ({len(classes)}), got {P}")
    picked = rng.choice(len(classes), P, replace=False)
    return np.concatenate([rng.choice(np.flatnonzero(labels == classes[c]), K, replace=False) for c in picked])


def hardest_pairs(embeddings, labels) -> tuple[np.ndarray, np.ndarray]:
    """Per anchor, the row indices of its farthest positive and its closest negative, exactly as
    :func:`batch_hard_triplet` mines them (Euclidean distances from the differences, the first index
    on a tie).  An anchor with no negative gets its own index."""
    x, lab = np.asarray(embeddings, dtype=float), np.asarray(labels)
    _, d = _pairwise(x)
    hp, hn, has_neg = _hardest(d, lab)
    return hp, np.where(has_neg, hn, np.arange(len(x)))


def mine_triplets(embeddings, labels, how: str = "random", *, generator=None, margin: float = 1.0):
    """One positive and one negative per anchor, chosen within the batch: ``(pos, neg)`` index tensors.

    ``how="hard"``: the farthest positive and the closest negative (batch-hard, Hermans et al. 2017).
    ``how="semi-hard"``: a random positive, and the closest negative that is farther than it but
    within ``margin`` (FaceNet's semi-hard negatives, Schroff et al. 2015); where no negative lies in
    that band, the farthest negative.  ``how="random"``: a random positive and a random negative
    (``generator``, a ``torch.Generator``, makes it repeatable).  Distances are Euclidean and
    computed without gradient: mining chooses the triplets, the loss differentiates them.
    ``embeddings`` is a torch tensor ``(B, D)``; ``labels`` ``(B,)``.
    """
    import torch

    if how not in ("random", "hard", "semi-hard"):
        raise ValueError(f"how must be 'random', 'hard' or 'semi-hard', got {how!r}")
    lab = torch.as_tensor(np.asarray(labels))
    same = lab[:, None] == lab[None]
    other = torch.eye(len(lab), dtype=torch.bool).logical_not()
    if not bool((same & other).any(1).all()) or not bool((~same).any(1).all()):
        raise ValueError("labels: every anchor needs a positive and a negative in the batch (use pk_batch)")
    with torch.no_grad():  # from the differences: torch.cdist switches to |a|^2 + |b|^2 - 2 a.b above 25 rows,
        dist = (embeddings[:, None] - embeddings[None]).norm(dim=2)  # which cancels to noise for close rows
    if how == "hard":
        pos = torch.where(same & other, dist, -1.0).argmax(1)  # farthest positive
        neg = torch.where(~same, dist, np.inf).argmin(1)  # closest negative
        return pos, neg
    pick = torch.rand(len(lab), len(lab), generator=generator, dtype=torch.float64)
    pos = torch.where(same & other, pick, -1.0).argmax(1)  # a random positive
    if how == "random":
        return pos, torch.where(~same, -pick, np.inf).argmin(1)
    d_ap = dist.gather(1, pos[:, None])
    band = ~same & (dist > d_ap) & (dist < d_ap + margin)
    closest_in_band = torch.where(band, dist, np.inf).argmin(1)
    farthest = torch.where(~same, dist, -1.0).argmax(1)
    return pos, torch.where(band.any(1), closest_in_band, farthest)


def knn_accuracy(train_embeddings, train_labels, test_embeddings, test_labels, *, k: int = 5) -> float:
    """Share of test samples whose ``k`` nearest training embeddings (Euclidean) vote for their label:
    how the book scores an embedding without training a classifier on it."""
    etr, ete = np.asarray(train_embeddings, float), np.asarray(test_embeddings, float)
    ytr, yte = np.asarray(train_labels).astype(int), np.asarray(test_labels).astype(int)
    # squared distances as |a|^2 + |b|^2 - 2 a.b: one matrix product, no (test, train, D) array
    d = (ete**2).sum(1)[:, None] + (etr**2).sum(1)[None] - 2.0 * ete @ etr.T
    # the k nearest: every point closer than the k-th distance, then the lowest indices among those
    # at it (what a stable sort would keep), found with a partition instead of a full sort
    kth = np.partition(d, k - 1, axis=1)[:, k - 1:k]
    closer, tied = d < kth, d == kth
    keep = closer | (tied & (np.cumsum(tied, axis=1) <= k - closer.sum(1, keepdims=True)))
    n_classes = int(max(ytr.max(), yte.max())) + 1
    votes = keep.astype(float) @ np.eye(n_classes)[ytr]  # (test, classes): the neighbours' count per class
    return float(np.mean(votes.argmax(1) == yte))
