"""The loss contract, checked for every loss in the registry.

Nothing here names a particular loss: registering a loss is enough to put it under every test.
Most losses take ``(y_true, y_pred)``; losses with their own inputs (``args``: an anchor, a
positive, a negative ...) are tested the same way, with a gradient checked for every input that
is differentiated.  Batch losses (one value per batch) skip only what does not apply to them:
reductions and sample weights.
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
PER_SAMPLE = [c for c in CASES if not c[0].batch]
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
        assert c.framework in {"torch", "keras", "torchmetrics", "optax", "numpy", "mpmath"} and c.recipe
    assert list(loss.__signature__.parameters)[:len(loss.args)] == list(loss.arg_names)


# ------------------------------------------------------------------------------------------
# values
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_value_matches_every_counterpart(case):
    loss, hyper, ndim = case
    inputs = sample(loss, hyper, ndim)
    n = inputs[0].shape[0]
    ours = loss(*inputs, **hyper) if loss.batch else loss(*inputs, reduction="none", **hyper)
    assert np.shape(ours) == (() if loss.batch else (n,))
    checked = 0
    for c in loss.counterparts:
        if c.fn is None:
            continue
        try:
            theirs = c.fn(*inputs, **loss.resolve(hyper))
        except NotImplementedError:
            continue
        np.testing.assert_allclose(theirs, ours, rtol=c.rtol, atol=c.atol, err_msg=f"{loss.name} vs {c.name}")
        checked += 1
    assert checked, f"{loss.name} {hyper}: no counterpart could evaluate this configuration"


def _grads(loss, g):
    """The gradient(s) of a loss as a tuple, one per differentiated input."""
    return g if isinstance(g, tuple) else (g,)


@pytest.mark.parametrize("case", PER_SAMPLE, ids=[case_id(c) for c in PER_SAMPLE])
def test_reductions_and_sample_weights(case):
    loss, hyper, ndim = case
    inputs = sample(loss, hyper, ndim, seed=1)
    n = inputs[0].shape[0]
    per = loss(*inputs, reduction="none", **hyper)
    np.testing.assert_allclose(loss(*inputs, reduction="sum", **hyper), per.sum(), rtol=1e-14)
    np.testing.assert_allclose(loss(*inputs, **hyper), per.sum() / n, rtol=1e-14)
    w = np.linspace(0.0, 2.0, n)  # includes a zero weight, which still counts in N
    np.testing.assert_allclose(loss(*inputs, sample_weight=w, **hyper), (w * per).sum() / n, rtol=1e-14)
    np.testing.assert_allclose(loss(*inputs, reduction="none", sample_weight=w, **hyper), w * per, rtol=1e-14)
    # gradients scale the same way, for every differentiated input
    g_none = _grads(loss, loss.grad(*inputs, reduction="none", **hyper))
    g_mean = _grads(loss, loss.grad(*inputs, **hyper))
    g_wmean = _grads(loss, loss.grad(*inputs, sample_weight=w, **hyper))
    g_wsum = _grads(loss, loss.grad(*inputs, reduction="sum", sample_weight=w, **hyper))
    assert len(g_none) == len(loss.diff_args)
    for k, i in enumerate(loss.diff_args):
        assert g_none[k].shape == inputs[i].shape
        wb = w.reshape((n,) + (1,) * (inputs[i].ndim - 1))
        np.testing.assert_allclose(g_mean[k], g_none[k] / n, rtol=1e-14)
        np.testing.assert_allclose(g_wmean[k], wb * g_none[k] / n, rtol=1e-14)
        np.testing.assert_allclose(g_wsum[k], wb * g_none[k], rtol=1e-14)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_inputs_are_never_modified_and_gradients_are_new_arrays(case):
    # the reduction scales a gradient the loss has just made in place (a pass and an allocation
    # saved at large N); this is what makes that safe for every loss, reduction and weight
    loss, hyper, ndim = case
    inputs = sample(loss, hyper, ndim, seed=2)
    kept = [np.array(a, copy=True) for a in inputs]
    n = inputs[0].shape[0]
    calls = [{}] if loss.batch else [{}, {"reduction": "sum"}, {"reduction": "none"},
                                      {"sample_weight": np.linspace(0.5, 2.0, n)}]
    for kw in calls:
        grads = _grads(loss, loss.value_and_grad(*inputs, **kw, **hyper)[1])
        for a, b in zip(inputs, kept):
            np.testing.assert_array_equal(a, b, err_msg=f"{loss.name} {kw}: an input was modified")
        for k, g in enumerate(grads):
            assert not any(np.may_share_memory(g, a) for a in inputs), f"{loss.name}: gradient is a view of an input"
            assert not any(np.may_share_memory(g, h) for h in grads[k + 1:]), f"{loss.name}: two gradients share memory"


# ------------------------------------------------------------------------------------------
# gradients
# ------------------------------------------------------------------------------------------
def _numerical_grad(loss, inputs, hyper, i, h=1e-6):
    """Central differences of the summed loss with respect to input ``i``, on the raw per-sample
    function (no validation, so that a perturbation may leave a constrained domain such as the
    simplex)."""
    *arrays, hp = loss.prepare(*inputs, hyper)

    def f(x):
        args = list(arrays)
        args[i] = x
        return float(np.sum(loss._per_sample(*args, with_grad=False, **hp)))

    x0 = arrays[i]
    g = np.zeros_like(x0)
    for idx in np.ndindex(x0.shape):
        step = h * max(1.0, abs(x0[idx]))
        up, down = x0.copy(), x0.copy()
        up[idx] += step
        down[idx] -= step
        g[idx] = (f(up) - f(down)) / (2 * step)
    return g


def _away_from_kinks(loss, inputs, hyper, like):
    """Mask, shaped like ``like``, of the entries whose samples are not at a kink."""
    if loss.kinks is None:
        return np.ones(like.shape, bool)
    k = np.asarray(loss.kinks(*inputs, **loss.resolve(hyper)))
    if k.shape != like.shape:  # one flag per sample: spread it over the sample's row
        k = np.broadcast_to(k.reshape((-1,) + (1,) * (like.ndim - 1)), like.shape)
    return ~k


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_grad_matches_finite_differences(case):
    loss, hyper, ndim = case
    inputs = sample(loss, hyper, ndim, seed=2)
    kw = {} if loss.batch else {"reduction": "sum"}
    ours = _grads(loss, loss.grad(*inputs, **kw, **hyper))
    for g, i in zip(ours, loss.diff_args):
        numeric = _numerical_grad(loss, inputs, hyper, i)
        away = _away_from_kinks(loss, inputs, hyper, inputs[i])
        assert away.sum() >= away.size // 2, "too many sampled points sit on a kink"
        np.testing.assert_allclose(g[away], numeric[away], rtol=1e-5, atol=1e-7,
                                   err_msg=f"{loss.name}: gradient w.r.t. {loss.args[i].name}")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_bridge_gradcheck_and_value(case):
    torch = pytest.importorskip("torch")
    loss, hyper, ndim = case
    inputs = sample(loss, hyper, ndim, seed=3)
    if loss.kinks is not None and np.any(loss.kinks(*inputs, **loss.resolve(hyper))):
        pytest.skip("sampled point near a kink")
    n = inputs[0].shape[0]
    tensors = [torch.tensor(x, dtype=torch.float64, requires_grad=i in loss.diff_args) for i, x in enumerate(inputs)]
    diff = [tensors[i] for i in loss.diff_args]
    w = torch.linspace(0.5, 1.5, n, dtype=torch.float64)
    settings = [("mean", None)] if loss.batch else [(r, w) for r in ("mean", "sum", "none")]
    for reduction, weight in settings:
        fn = loss.torch(reduction=reduction, **hyper)
        out = fn(*tensors, sample_weight=weight)
        kw = {} if loss.batch else {"reduction": reduction, "sample_weight": w.numpy()}
        expected = loss(*inputs, **kw, **hyper)
        np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-14)
        if reduction != "none":
            got = torch.autograd.grad(out, diff)
            for g, e in zip(got, _grads(loss, loss.grad(*inputs, **kw, **hyper))):
                np.testing.assert_allclose(g.numpy(), e, rtol=1e-14)
    fn = loss.torch(reduction="mean", **hyper)

    def f(*xs):
        args = list(tensors)
        for i, x in zip(loss.diff_args, xs):
            args[i] = x
        return fn(*args)

    assert torch.autograd.gradcheck(f, tuple(diff), eps=1e-7, atol=1e-6, rtol=1e-4)


# ------------------------------------------------------------------------------------------
# extremes: valid input far from the comfortable range still gives a finite answer
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_extreme_input_is_finite(case):
    loss, hyper, ndim = case
    kw = {} if loss.batch else {"reduction": "none"}
    for *inputs, hp in extremes(loss, hyper, ndim):
        value, grad = loss.value_and_grad(*inputs, **kw, **hp)
        assert np.all(np.isfinite(value)), f"{loss.name}: non-finite loss at extreme input {inputs}"
        for g, i in zip(_grads(loss, grad), loss.diff_args):
            assert np.all(np.isfinite(g)), f"{loss.name}: non-finite gradient w.r.t. {loss.args[i].name} at {inputs}"


# ------------------------------------------------------------------------------------------
# the bad-input battery: every error names the argument
# ------------------------------------------------------------------------------------------
def _replace(inputs, i, value):
    out = list(inputs)
    out[i] = value
    return out


def _bad_inputs(loss, hyper, ndim):
    inputs = sample(loss, hyper, ndim, seed=4)
    names = loss.arg_names
    n = inputs[0].shape[0]
    last = loss.diff_args[-1]  # y_pred for (y_true, y_pred) losses
    alone = sum(a.kind == "same" for a in loss.args) == 1 and inputs[last].ndim == 1  # (N,) -> (N, 1) is valid
    yield "shape", (_replace(inputs, last, inputs[last][..., None, None] if alone else inputs[last][..., None]), {}), \
        ValueError, "shape"
    nan = inputs[last].copy()
    nan.flat[0] = np.nan
    yield f"nan-{names[last]}", (_replace(inputs, last, nan), {}), ValueError, names[last]
    inf = inputs[0].copy()
    inf.flat[0] = np.inf
    yield f"inf-{names[0]}", (_replace(inputs, 0, inf), {}), ValueError, names[0]
    yield "empty", ([x[:0] for x in inputs], {}), ValueError, "empty"
    yield "string", (_replace(inputs, 0, "abc"), {}), TypeError, names[0]
    if loss.batch:
        yield "reduction", (inputs, {"reduction": "sum"}), TypeError, "reduction"
        yield "sample_weight", (inputs, {"sample_weight": np.ones(n)}), TypeError, "sample_weight"
    else:
        yield "weight-shape", (inputs, {"sample_weight": np.ones(n + 1)}), ValueError, "sample_weight"
        yield "weight-negative", (inputs, {"sample_weight": -np.ones(n)}), ValueError, "sample_weight"
        yield "reduction", (inputs, {"reduction": "avg"}), ValueError, "reduction"
    yield "unknown-hyper", (inputs, {"no_such_knob": 1.0}), TypeError, "no_such_knob"
    for name, h in loss.hyper.items():
        yield f"hyper-{name}", (inputs, {name: h.bad_value()}), (ValueError, TypeError), name
    if loss.shape == "labels":
        y_true, y_pred = inputs
        bad = y_true.copy()
        bad[0] = y_pred.shape[1]
        yield "label-range", ([bad, y_pred], {}), ValueError, "y_true"
        yield "label-shape", ([y_true[:, None], y_pred], {}), ValueError, "y_true"
    for i, a in enumerate(loss.args):
        if loss.shape == "labels" and a.name == "y_true":
            continue
        bad = DOMAINS[loss.domain(a.name, **hyper)].bad_value
        if bad is not None:
            x = inputs[i].copy()
            x.flat[0] = bad
            yield f"{a.name}-domain", (_replace(inputs, i, x), {}), ValueError, a.name
        if a.kind == "row":
            yield f"{a.name}-row-shape", (_replace(inputs, i, inputs[i][:-1]), {}), ValueError, a.name


BAD = [(case, *b) for case in CASES for b in _bad_inputs(*case)]


@pytest.mark.parametrize("case,what,args,exc,word", BAD, ids=[f"{case_id(b[0])}-{b[1]}" for b in BAD])
def test_bad_input_raises_naming_the_argument(case, what, args, exc, word):
    loss, hyper, _ = case
    inputs, extra = args
    kwargs = {**hyper, **extra}
    for call in (loss, loss.grad):
        with pytest.raises(exc) as info:
            call(*inputs, **kwargs)
        assert word in str(info.value), f"{loss.name}: message {str(info.value)!r} does not name {word!r}"


def test_inputs_by_name_equal_inputs_by_position():
    loss = lb.mean_squared_error
    assert loss(y_true=[0.0, 1.0], y_pred=[1.0, 1.0]) == loss([0.0, 1.0], [1.0, 1.0]) == 0.5
    with pytest.raises(TypeError, match="y_pred"):
        loss([0.0, 1.0])
    with pytest.raises(TypeError, match="both"):
        loss([0.0, 1.0], [1.0, 1.0], y_true=[0.0, 0.0])
