"""Sparsemax and the sparsemax loss: the identities the registry-driven battery does not see.

The projection (rows on the simplex, its limits, the two-class closed form, 50-digit supports and
thresholds), the loss's margin and invariance, the Fenchel-Young identities that make softmax
cross-entropy and the sparsemax loss two cases of one construction, optax's binary loss as the
two-class case, and Keras 3.15.1's sparsemax activation, whose threshold is wrong.
"""
import numpy as np
import pytest

import lossbook as lb
from lossbook.fenchel_young import _threshold

RNG = np.random.default_rng(0)
Z = RNG.normal(size=(200, 5)) * RNG.choice([0.1, 1.0, 3.0, 30.0], size=(200, 1))
Y = RNG.integers(0, 5, size=200).astype(float)
ONE_HOT = np.eye(5)[Y.astype(int)]


def _eq20(y, z):
    """Martins & Astudillo's formula as printed: -z_y + 1/2 sum_S (z_j^2 - tau^2) + 1/2."""
    u, tau, _, kth = _threshold(z)
    tau = tau + z.max(axis=-1, keepdims=True)
    rows = np.arange(len(z))
    return -z[rows, y.astype(int)] + 0.5 * np.where(u >= kth, z ** 2 - tau ** 2, 0.0).sum(-1) + 0.5


# --------------------------------------------------------------------------------------------
# the projection
# --------------------------------------------------------------------------------------------
def test_sparsemax_rows_are_probabilities_with_exact_zeros():
    p = lb.sparsemax(Z)
    assert p.shape == Z.shape and p.min() >= 0.0
    np.testing.assert_allclose(p.sum(-1), 1.0, rtol=0, atol=4e-16)
    assert (p == 0).any(axis=-1).mean() > 0.5  # sparse: most of these rows give some class exactly 0
    np.testing.assert_array_equal(lb.sparsemax(Z[3]), p[3])  # one row, shape (C,)


def test_sparsemax_is_the_euclidean_projection_onto_the_simplex():
    """No point of the simplex is closer to z (random Dirichlet points, and the vertices)."""
    z, p = Z[:50], lb.sparsemax(Z[:50])
    q = RNG.dirichlet(np.ones(5), size=(50, 400))
    best = ((p - z) ** 2).sum(-1)
    assert np.all(((q - z[:, None]) ** 2).sum(-1) >= best[:, None] - 1e-12)
    assert np.all(((np.eye(5) - z[:, None]) ** 2).sum(-1) >= best[:, None] - 1e-12)


def test_sparsemax_limits_like_softmax_s():
    """A dominant logit gives a one-hot row (argmax as the temperature goes to 0); a flat row is uniform."""
    z = np.array([[10.0, 0.0, -3.0], [0.2, 0.5, 0.1], [1e4, -1e4, 0.0]])
    np.testing.assert_array_equal(lb.sparsemax(z[[0, 2]]), [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    np.testing.assert_array_equal(lb.sparsemax(z[1] / 1e-3), [0.0, 1.0, 0.0])  # T -> 0: argmax
    np.testing.assert_allclose(lb.sparsemax(z[1] / 1e6), np.full(3, 1 / 3), rtol=1e-6)  # T -> inf: uniform
    np.testing.assert_allclose(lb.sparsemax(np.zeros((2, 4))), np.full((2, 4), 0.25), rtol=0, atol=0)


def test_sparsemax_two_classes_is_a_clipped_line():
    z = RNG.normal(size=(500, 2)) * 2
    z[:5] = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1e4, 1e4 - 0.5], [-3.0, -3.0 + 2 ** -30]]
    first = np.clip((z[:, 0] - z[:, 1] + 1) / 2, 0, 1)
    np.testing.assert_allclose(lb.sparsemax(z)[:, 0], first, rtol=0, atol=2e-16)
    np.testing.assert_allclose(lb.sparsemax(z)[:, 1], 1 - first, rtol=0, atol=2e-16)


def test_sparsemax_commutes_with_a_shift_and_keeps_digits_at_1e4():
    np.testing.assert_allclose(lb.sparsemax(Z + 7.25), lb.sparsemax(Z), rtol=0, atol=1e-14)
    z = np.array([[1e4, 1e4 - 0.5, -1e4], [1e4, 1e4 - 1e-8, 1e4 - 2.0], [-1e4, -1e4 - 0.25, -1e4 - 0.5]])
    d = 1e4 - (1e4 - 1e-8)  # the gap float64 holds (1e-8 to an ulp of 1e4), exact by Sterbenz
    np.testing.assert_allclose(lb.sparsemax(z), [[0.75, 0.25, 0.0], [(1 + d) / 2, (1 - d) / 2, 0.0],
                                                 [7 / 12, 4 / 12, 1 / 12]], rtol=0, atol=2 ** -52)  # an ulp of 1


def test_sparsemax_support_and_threshold_against_50_digits():
    """The support size and tau computed exactly in mpmath; the projection within 4 ulp of 1."""
    reference = pytest.importorskip("lossbook.reference")
    mp = reference.mp
    rows = list(Z[:60]) + [np.array(r) for r in (
        [0.0, -1.0, -1.0, -5.0, 0.0], [1e4, 1e4 - 1.0, 1e4 - 0.5, 0.0, -1e4], [0.3, -0.6999999, -2.0, 0.29, 0.0],
        [1.0, 0.0, 0.0, 0.0, 0.0], [0.0, np.nextafter(-1.0, 0.0), -3.0, -3.0, -3.0])]
    for z in rows:
        k, tau = reference._sparsemax_exact([mp.mpf(float(v)) for v in z])
        u, tau64, k64, _ = _threshold(z[None])
        exact_p = [max(mp.mpf(float(v)) - tau, 0) for v in z]
        assert int(k64[0, 0]) == k or min(p for p in exact_p if p > 0) < 1e-15  # ties at the boundary only
        got = lb.sparsemax(z)
        assert max(abs(mp.mpf(float(g)) - e) for g, e in zip(got, exact_p)) <= 4 * 2.0 ** -52


def test_sparsemax_rejects_bad_input():
    with pytest.raises(ValueError, match="z must be finite"):
        lb.sparsemax([[0.0, np.nan]])
    with pytest.raises(ValueError, match="z must have shape"):
        lb.sparsemax(np.zeros((2, 2, 2)))
    with pytest.raises(TypeError, match="z must be an array"):
        lb.sparsemax("logits")


# --------------------------------------------------------------------------------------------
# the loss
# --------------------------------------------------------------------------------------------
def test_loss_is_martins_and_astudillo_s_formula_and_its_gradient_is_sparsemax_minus_the_target():
    value, grad = lb.sparsemax_loss.value_and_grad(Y, Z, reduction="none")
    np.testing.assert_allclose(value, _eq20(Y, Z), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad, lb.sparsemax(Z) - ONE_HOT, rtol=0, atol=4e-16)


def test_loss_is_zero_exactly_at_a_margin_of_one():
    """0 (and gradient 0) iff z_y >= z_j + 1 for every other class; > 0 otherwise: the separation margin."""
    z = np.array([[1.0, 0.0, 0.0], [2.0, 1.0, -5.0], [0.0, 1e5, 0.0], [1e4, 1e4 - 1.0, -1e4],
                  [1.0, 0.0 + 2 ** -40, 0.0], [0.5, 0.0, 0.0]])
    y = np.array([0.0, 0.0, 1.0, 0.0, 0.0, 0.0])
    value, grad = lb.sparsemax_loss.value_and_grad(y, z, reduction="none")
    np.testing.assert_array_equal(value[:4], 0.0)
    np.testing.assert_array_equal(grad[:4], 0.0)
    assert value[4] == pytest.approx(2 ** -80 / 2 * 2, rel=1e-12)  # (margin 1 - 2^-40): p = (1 - 2^-41, 2^-41, 0)
    assert value[5] > 0
    # every random row: >= 0, and 0 exactly where the margin holds
    losses = lb.sparsemax_loss(Y, Z, reduction="none")
    rows = np.arange(len(Z))
    others = np.where(ONE_HOT == 1, -np.inf, Z).max(-1)
    assert losses.min() >= 0.0
    np.testing.assert_array_equal(losses == 0, Z[rows, Y.astype(int)] >= others + 1)


def test_loss_is_unchanged_by_adding_a_constant_to_a_row():
    shifted = Z + RNG.normal(size=(len(Z), 1)) * 100
    np.testing.assert_allclose(lb.sparsemax_loss(Y, shifted, reduction="none"),
                               lb.sparsemax_loss(Y, Z, reduction="none"), rtol=1e-11, atol=1e-11)
    # at 1e4 the shifted form keeps every digit: the loss of a row and of the same row + 1e4 (exact shifts)
    z = np.array([[0.0, -0.75, -3.0], [0.5, 0.25, 0.0], [-2.0, 0.0, -0.5]])
    y = np.array([0.0, 2.0, 0.0])
    np.testing.assert_array_equal(lb.sparsemax_loss(y, z + 1e4, reduction="none"),
                                  lb.sparsemax_loss(y, z, reduction="none"))


def test_tiny_losses_keep_their_digits():
    """Near the margin the loss is 1e-13 while eq. 20 adds squares of order 1: the shifted form keeps
    every digit (1 - p_y is a sum of positive terms), where eq. 20 returns rounding noise."""
    z = np.array([[0.0, -0.999999, -5.0], [1e4, 1e4 - 0.999999, 0.0]])
    y = np.array([0.0, 0.0])
    a = 1.0 + (z[:, 1] - z[:, 0])  # both operations exact in float64 (Sterbenz)
    exact = (a / 2) ** 2  # 1 - p_y = a / 2 = p_1: the loss is ((a/2)^2 + (a/2)^2) / 2
    got = lb.sparsemax_loss(y, z, reduction="none")
    np.testing.assert_allclose(got, exact, rtol=4e-16)
    # the formula as printed: 3e-4 relative error at 0, no correct digit at 1e4 (it returns 0)
    assert np.all(np.abs(_eq20(y, z) - exact) > 1e-4 * exact)
    assert np.abs(_eq20(y, z) - exact)[1] > 0.5 * exact[1]


def test_the_accuracy_measure_sees_a_naive_implementation():
    """The 50-digit reference's bound (plain ulps where z_j - z_y is exact) fails the formula as printed."""
    reference = pytest.importorskip("lossbook.reference")
    y, z = np.array([0.0, 1.0]), np.array([[0.0, -0.999999, -5.0], [-3.0, 1e4, 1e4 - 0.999999]])
    ex = reference.exacts("sparsemax_loss", {}, y, z)
    bound = reference.REFERENCES["sparsemax_loss"].max_ulp
    assert reference.value_errors(ex, lb.sparsemax_loss(y, z, reduction="none")).max() <= bound
    assert reference.value_errors(ex, _eq20(y, z)).min() > 1e6


# --------------------------------------------------------------------------------------------
# Fenchel-Young: L(z; y) = Omega*(z) + Omega(y) - <z, y>
# --------------------------------------------------------------------------------------------
def _fy(conjugate, omega, z, y):
    return conjugate(z) + omega(y) - (z * y).sum(-1)


def _logsumexp(z):
    m = z.max(-1, keepdims=True)
    return (m + np.log(np.exp(z - m).sum(-1, keepdims=True)))[:, 0]


def _neg_entropy(p):
    return np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0).sum(-1)


def _gini_conjugate(z):
    """max over the simplex of <p, z> - |p|^2 / 2, attained at p = sparsemax(z)."""
    p = lb.sparsemax(z)
    return (p * z).sum(-1) - 0.5 * (p * p).sum(-1)


def test_softmax_cross_entropy_is_the_fenchel_young_loss_of_the_negative_entropy():
    ce = lb.categorical_crossentropy(ONE_HOT, Z, from_logits=True, reduction="none")
    np.testing.assert_allclose(_fy(_logsumexp, _neg_entropy, Z, ONE_HOT), ce, rtol=1e-12, atol=1e-13)
    # with soft targets the Fenchel-Young loss is the cross-entropy minus the targets' entropy: KL(y || softmax z)
    soft = RNG.dirichlet(np.ones(5), size=len(Z))
    ce_soft = lb.categorical_crossentropy(soft, Z, from_logits=True, reduction="none")
    np.testing.assert_allclose(_fy(_logsumexp, _neg_entropy, Z, soft), ce_soft + _neg_entropy(soft), rtol=1e-11)
    # logsumexp is the conjugate: max over the simplex of <p, z> + H(p), at softmax(z)
    q = RNG.dirichlet(np.ones(5), size=(len(Z), 50))
    assert np.all(_logsumexp(Z)[:, None] >= (q * Z[:, None]).sum(-1) - _neg_entropy(q) - 1e-12)
    # the gradient of a Fenchel-Young loss is grad Omega*(z) - y: softmax(z) - y
    softmax = np.exp(Z - _logsumexp(Z)[:, None])
    np.testing.assert_allclose(lb.categorical_crossentropy.grad(ONE_HOT, Z, from_logits=True, reduction="none"),
                               softmax - ONE_HOT, rtol=1e-12, atol=2e-15)


def test_sparsemax_loss_is_the_fenchel_young_loss_of_the_gini_regulariser():
    half_sq = lambda p: 0.5 * (p * p).sum(-1)  # noqa: E731
    np.testing.assert_allclose(_fy(_gini_conjugate, half_sq, Z, ONE_HOT),
                               lb.sparsemax_loss(Y, Z, reduction="none"), rtol=1e-12, atol=1e-13)
    # sparsemax(z) attains the conjugate's max over the simplex
    q = RNG.dirichlet(np.ones(5), size=(len(Z), 50))
    assert np.all(_gini_conjugate(Z)[:, None] >= (q * Z[:, None]).sum(-1) - half_sq(q) - 1e-12)
    # the two losses share the gradient's form: link(z) - y
    np.testing.assert_allclose(lb.sparsemax_loss.grad(Y, Z, reduction="none"), lb.sparsemax(Z) - ONE_HOT,
                               rtol=0, atol=4e-16)


# --------------------------------------------------------------------------------------------
# the frameworks
# --------------------------------------------------------------------------------------------
def test_optax_binary_sparsemax_loss_is_the_two_class_case():
    """optax.losses.sparsemax_loss(s, y) is the binary loss: lb.sparsemax_loss(y, [0, s]); its link,
    jax.nn.sparse_sigmoid(s), is sparsemax([0, s])[1]."""
    from lossbook.frameworks import import_jax

    jax, jnp, optax = import_jax()
    s = np.concatenate([np.linspace(-3, 3, 61), [-1.0, 1.0, 1e4, -1e4]])
    labels = np.arange(len(s)) % 2
    rows = np.stack([np.zeros_like(s), s], axis=1)
    theirs = np.asarray(optax.losses.sparsemax_loss(jnp.asarray(s), jnp.asarray(labels)), dtype=np.float64)
    np.testing.assert_allclose(lb.sparsemax_loss(labels.astype(float), rows, reduction="none"), theirs,
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(lb.sparsemax(rows)[:, 1], np.asarray(jax.nn.sparse_sigmoid(jnp.asarray(s))),
                               rtol=0, atol=1e-15)


def test_optax_s_documented_example_zero_loss_and_gradient():
    """optax's tests: large scores on the right class give a loss of 0 and gradient sparsemax(z) - one_hot(y)."""
    labels = np.array([1.0, 0.0, 2.0])
    scores = np.array([[0.0, 1e5, 0.0], [1e5, 0.0, 0.0], [0.0, 0.0, 1e5]])
    value, grad = lb.sparsemax_loss.value_and_grad(labels, scores, reduction="none")
    np.testing.assert_array_equal(value, 0.0)
    np.testing.assert_array_equal(grad, lb.sparsemax(scores) - np.eye(3)[[1, 0, 2]])


def test_keras_sparsemax_activation():
    """Keras's own test (linspace(1, 12): a one-hot row) passes; with two classes in the support its
    3.15.1 threshold sums every cumulative sum (keras-team/keras#23425) and the row does not sum to 1."""
    from lossbook.frameworks import import_keras

    keras = import_keras()
    x = np.linspace(1, 12, num=12)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(keras.activations.sparsemax(x)), lb.sparsemax(x),
                               atol=1e-6)
    z = np.array([[0.0, 0.5, 1.0]], np.float32)
    theirs = keras.ops.convert_to_numpy(keras.activations.sparsemax(z))
    np.testing.assert_allclose(lb.sparsemax(z), [[0.0, 0.25, 0.75]])
    if abs(theirs.sum() - 1) > 1e-6:  # the bug: tau = (1 + 1.5 - 1) / 2 instead of (1.5 - 1) / 2
        np.testing.assert_allclose(theirs, [[0.0, 0.0, 0.25]], atol=1e-7)
    else:  # fixed (keras-team/keras#23469): it is the projection
        np.testing.assert_allclose(theirs, lb.sparsemax(z), atol=1e-6)
