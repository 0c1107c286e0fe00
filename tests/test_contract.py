"""The loss contract, checked for every loss in the registry.

Nothing here names a particular loss: registering a loss is enough to put it under every test.
"""
from __future__ import annotations

import numpy as np
import pytest

import lossbook as lb
from lossbook.validation import DOMAINS
from lossbook.testing import case_id, cases
from lossbook.testing import extreme_inputs as extremes
from lossbook.testing import sample_inputs as sample

CASES = list(cases())
IDS = [case_id(c) for c in CASES]
FAMILIES = {"regression", "probabilistic", "margin", "embedding", "ranking", "custom"}


def test_registry_is_not_empty_and_names_are_canonical():
    assert "mean_squared_error" in lb.LOSSES
    for name, loss in lb.LOSSES.items():
        assert loss.name == name and getattr(lb, name) is loss, name


@pytest.mark.parametrize("loss", lb.LOSSES.values(), ids=list(lb.LOSSES))
def test_metadata(loss, repo_root):
    assert loss.family in FAMILIES, f"{loss.name}: unknown family {loss.family!r}"
    chapter = repo_root / "book" / loss.chapter
    assert any(chapter.with_suffix(s).exists() for s in (".ipynb", ".md")), (
        f"{loss.name} names chapter {loss.chapter!r}, which is not in book/")
    assert loss.__doc__ and ".. math::" in loss.__doc__, f"{loss.name}: docstring needs its formula"
    assert any(c.fn is not None for c in loss.counterparts), (
        f"{loss.name}: needs at least one executable counterpart (a framework, or a 'numpy' reference)")
    for c in loss.counterparts:
        assert c.framework in {"torch", "keras", "torchmetrics", "numpy", "mpmath"} and c.recipe


# ------------------------------------------------------------------------------------------
# values
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_value_matches_every_counterpart(case):
    loss, hyper, ndim = case
    y_true, y_pred = sample(loss, hyper, ndim)
    ours = loss(y_true, y_pred, reduction="none", **hyper)
    assert ours.shape == (y_pred.shape[0],)
    checked = 0
    for c in loss.counterparts:
        if c.fn is None:
            continue
        try:
            theirs = c.fn(y_true, y_pred, **loss.resolve(hyper))
        except NotImplementedError:
            continue
        np.testing.assert_allclose(theirs, ours, rtol=c.rtol, atol=c.atol, err_msg=f"{loss.name} vs {c.name}")
        checked += 1
    assert checked, f"{loss.name} {hyper}: no counterpart could evaluate this configuration"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_reductions_and_sample_weights(case):
    loss, hyper, ndim = case
    y_true, y_pred = sample(loss, hyper, ndim, seed=1)
    n = y_pred.shape[0]
    per = loss(y_true, y_pred, reduction="none", **hyper)
    np.testing.assert_allclose(loss(y_true, y_pred, reduction="sum", **hyper), per.sum(), rtol=1e-14)
    np.testing.assert_allclose(loss(y_true, y_pred, **hyper), per.sum() / n, rtol=1e-14)
    w = np.linspace(0.0, 2.0, n)  # includes a zero weight, which still counts in N
    np.testing.assert_allclose(loss(y_true, y_pred, sample_weight=w, **hyper), (w * per).sum() / n, rtol=1e-14)
    np.testing.assert_allclose(loss(y_true, y_pred, reduction="none", sample_weight=w, **hyper), w * per, rtol=1e-14)
    # gradients scale the same way
    g_none = loss.grad(y_true, y_pred, reduction="none", **hyper)
    assert g_none.shape == y_pred.shape
    np.testing.assert_allclose(loss.grad(y_true, y_pred, **hyper), g_none / n, rtol=1e-14)
    wb = w.reshape((n,) + (1,) * (y_pred.ndim - 1))
    np.testing.assert_allclose(loss.grad(y_true, y_pred, sample_weight=w, **hyper), wb * g_none / n, rtol=1e-14)
    np.testing.assert_allclose(loss.grad(y_true, y_pred, reduction="sum", sample_weight=w, **hyper), wb * g_none, rtol=1e-14)


# ------------------------------------------------------------------------------------------
# gradients
# ------------------------------------------------------------------------------------------
def _numerical_grad(loss, y_true, y_pred, hyper, h=1e-6):
    """Central differences of the summed loss, on the raw per-sample function (no validation,
    so that a perturbation may leave a constrained domain such as the simplex)."""
    yt, yp, hp = loss.prepare(y_true, y_pred, hyper)
    f = lambda x: float(np.sum(loss._per_sample(yt, x, with_grad=False, **hp)))  # noqa: E731
    g = np.zeros_like(yp)
    for idx in np.ndindex(yp.shape):
        step = h * max(1.0, abs(yp[idx]))
        up, down = yp.copy(), yp.copy()
        up[idx] += step
        down[idx] -= step
        g[idx] = (f(up) - f(down)) / (2 * step)
    return g


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_grad_matches_finite_differences(case):
    loss, hyper, ndim = case
    y_true, y_pred = sample(loss, hyper, ndim, seed=2)
    ours = loss.grad(y_true, y_pred, reduction="sum", **hyper)
    numeric = _numerical_grad(loss, y_true, y_pred, hyper)
    away = np.ones(y_pred.shape, bool) if loss.kinks is None else ~np.asarray(loss.kinks(y_true, y_pred, **loss.resolve(hyper)))
    assert away.sum() >= away.size // 2, "too many sampled points sit on a kink"
    np.testing.assert_allclose(ours[away], numeric[away], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_bridge_gradcheck_and_value(case):
    torch = pytest.importorskip("torch")
    loss, hyper, ndim = case
    y_true, y_pred = sample(loss, hyper, ndim, seed=3)
    if loss.kinks is not None and np.any(loss.kinks(y_true, y_pred, **loss.resolve(hyper))):
        pytest.skip("sampled point near a kink")
    yt = torch.tensor(y_true, dtype=torch.float64)
    yp = torch.tensor(y_pred, dtype=torch.float64, requires_grad=True)
    w = torch.linspace(0.5, 1.5, y_pred.shape[0], dtype=torch.float64)
    for reduction in ("mean", "sum", "none"):
        fn = loss.torch(reduction=reduction, **hyper)
        out = fn(yt, yp, sample_weight=w)
        expected = loss(y_true, y_pred, reduction=reduction, sample_weight=w.numpy(), **hyper)
        np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-14)
        if reduction != "none":
            (g,) = torch.autograd.grad(out, yp)
            np.testing.assert_allclose(g.numpy(), loss.grad(y_true, y_pred, reduction=reduction,
                                                              sample_weight=w.numpy(), **hyper), rtol=1e-14)
    fn = loss.torch(reduction="mean", **hyper)
    assert torch.autograd.gradcheck(lambda x: fn(yt, x), (yp,), eps=1e-7, atol=1e-6, rtol=1e-4)


# ------------------------------------------------------------------------------------------
# extremes: valid input far from the comfortable range still gives a finite answer
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_extreme_input_is_finite(case):
    loss, hyper, ndim = case
    for y_true, y_pred, hp in extremes(loss, hyper, ndim):
        value, grad = loss.value_and_grad(y_true, y_pred, reduction="none", **hp)
        assert np.all(np.isfinite(value)), f"{loss.name}: non-finite loss at extreme input {y_pred}"
        assert np.all(np.isfinite(grad)), f"{loss.name}: non-finite gradient at extreme input {y_pred}"


# ------------------------------------------------------------------------------------------
# the bad-input battery: every error names the argument
# ------------------------------------------------------------------------------------------
def _bad_inputs(loss, hyper, ndim):
    y_true, y_pred = sample(loss, hyper, ndim, seed=4)
    n = y_pred.shape[0]
    nan_pred = y_pred.copy()
    nan_pred.flat[0] = np.nan
    yield "shape", (y_true, y_pred[..., None], {}), ValueError, "shape"
    yield "nan-y_pred", (y_true, nan_pred, {}), ValueError, "y_pred"
    nan_true = y_true.copy()
    nan_true.flat[0] = np.inf
    yield "inf-y_true", (nan_true, y_pred, {}), ValueError, "y_true"
    yield "empty", (y_true[:0], y_pred[:0], {}), ValueError, "empty"
    yield "string", ("abc", y_pred, {}), TypeError, "y_true"
    yield "weight-shape", (y_true, y_pred, {"sample_weight": np.ones(n + 1)}), ValueError, "sample_weight"
    yield "weight-negative", (y_true, y_pred, {"sample_weight": -np.ones(n)}), ValueError, "sample_weight"
    yield "reduction", (y_true, y_pred, {"reduction": "avg"}), ValueError, "reduction"
    yield "unknown-hyper", (y_true, y_pred, {"no_such_knob": 1.0}), TypeError, "no_such_knob"
    for name, h in loss.hyper.items():
        yield f"hyper-{name}", (y_true, y_pred, {name: h.bad_value()}), (ValueError, TypeError), name
    if loss.shape == "labels":
        bad = y_true.copy()
        bad[0] = y_pred.shape[1]
        yield "label-range", (bad, y_pred, {}), ValueError, "y_true"
        yield "label-shape", (y_true[:, None], y_pred, {}), ValueError, "y_true"
    else:
        bad_t = DOMAINS[loss.y_true_domain(**hyper)].bad_value
        if bad_t is not None:
            yt = y_true.copy()
            yt.flat[0] = bad_t
            yield "y_true-domain", (yt, y_pred, {}), ValueError, "y_true"
    bad_p = DOMAINS[loss.y_pred_domain(**hyper)].bad_value
    if bad_p is not None:
        yp = y_pred.copy()
        yp.flat[0] = bad_p
        yield "y_pred-domain", (y_true, yp, {}), ValueError, "y_pred"


BAD = [(case, *b) for case in CASES for b in _bad_inputs(*case)]


@pytest.mark.parametrize("case,what,args,exc,word", BAD, ids=[f"{case_id(b[0])}-{b[1]}" for b in BAD])
def test_bad_input_raises_naming_the_argument(case, what, args, exc, word):
    loss, hyper, _ = case
    y_true, y_pred, extra = args
    kwargs = {**hyper, **extra}
    for call in (loss, loss.grad):
        with pytest.raises(exc) as info:
            call(y_true, y_pred, **kwargs)
        assert word in str(info.value), f"{loss.name}: message {str(info.value)!r} does not name {word!r}"
