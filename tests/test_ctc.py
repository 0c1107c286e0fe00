"""CTC: what the registry-driven battery does not see.

The recursion against a brute-force sum over every path (value and gradient), the conventions of
torch, Keras and optax (reduction, padding, blank), impossible targets, and what lies past each
length.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import lossbook as lb
from lossbook.frameworks import import_keras, import_torch
from lossbook.sequences import min_steps


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _brute(labels, logits, steps, blank):
    """-log P and its gradient by enumerating all C ** steps paths (float64, no recursion)."""
    p = _softmax(logits)
    c = logits.shape[1]
    total, occupancy = 0.0, np.zeros_like(logits)
    for path in itertools.product(range(c), repeat=steps):
        merged = [k for i, k in enumerate(path) if i == 0 or k != path[i - 1]]
        if tuple(k for k in merged if k != blank) == tuple(labels):
            w = np.prod([p[t, k] for t, k in enumerate(path)])
            total += w
            for t, k in enumerate(path):
                occupancy[t, k] += w
    grad = p - occupancy / total
    grad[steps:] = 0.0
    return -np.log(total), grad


@pytest.mark.parametrize("blank", [0, 2])
def test_the_recursion_equals_the_sum_over_every_path(blank):
    rng = np.random.default_rng(0)
    c, t_max = 3, 5
    others = [k for k in range(c) if k != blank]
    cases = [[], [others[0]], [others[0], others[1]], [others[0], others[0]], [others[1], others[0], others[1]],
             [others[0], others[0], others[0]]]
    for labels in cases:
        for steps in range(max(min_steps(np.array([labels + [-1]]), np.array([len(labels)]))[0], 1), t_max + 1):
            logits = rng.normal(size=(1, t_max, c)) * 2
            targets = np.array([labels + [-1] * (3 - len(labels))], dtype=float)
            value, grad = lb.ctc.value_and_grad(targets, logits, [steps], [len(labels)], reduction="sum", blank=blank)
            exact_value, exact_grad = _brute(labels, logits[0], steps, blank)
            assert value == pytest.approx(exact_value, rel=1e-13, abs=1e-14), (labels, steps)
            np.testing.assert_allclose(grad[0], exact_grad, rtol=1e-10, atol=1e-13)


def test_a_sequence_that_needs_every_step_has_one_path():
    # "a a b" in 4 steps: a, blank, a, b is the only path
    logits = np.random.default_rng(1).normal(size=(1, 4, 3))
    logp = logits[0] - np.log(np.exp(logits[0]).sum(-1, keepdims=True))
    value = lb.ctc([[1, 1, 2]], logits, [4], [3])
    assert value == pytest.approx(-(logp[0, 1] + logp[1, 0] + logp[2, 1] + logp[3, 2]), rel=1e-14)


def test_the_gradient_is_softmax_minus_a_posterior_that_sums_to_one_per_step():
    targets, logits, input_lengths, target_lengths = lb.testing.sample_inputs(lb.ctc, seed=3, n=20)
    grad = lb.ctc.grad(targets, logits, input_lengths, target_lengths, reduction="sum")
    posterior = _softmax(logits) - grad
    inside = np.arange(logits.shape[1])[None, :] < input_lengths[:, None]
    np.testing.assert_allclose(posterior.sum(-1)[inside], 1.0, rtol=0, atol=1e-13)
    assert np.all(grad[~inside] == 0)
    assert posterior[inside].min() >= -1e-15


def test_what_lies_past_each_length_is_ignored():
    targets, logits, input_lengths, target_lengths = lb.testing.sample_inputs(lb.ctc, seed=4, n=30)
    value = lb.ctc(targets, logits, input_lengths, target_lengths, reduction="none")
    past_t = np.arange(logits.shape[1])[None, :, None] >= input_lengths[:, None, None]
    past_s = np.arange(targets.shape[1])[None, :] >= target_lengths[:, None]
    assert past_t.any() and past_s.any()
    other_logits = np.where(past_t, 1e3, logits)
    other_targets = np.where(past_s, 2.0, targets)
    np.testing.assert_array_equal(lb.ctc(other_targets, other_logits, input_lengths, target_lengths, reduction="none"),
                                  value)


def test_torch_mean_divides_each_sample_by_its_target_length():
    torch = import_torch()
    targets, logits, input_lengths, target_lengths = lb.testing.sample_inputs(lb.ctc, seed=5, n=12)
    target_lengths = np.maximum(target_lengths, 1)  # torch's mean divides by it (clamped at 1)
    targets[:, 0] = np.where(targets[:, 0] < 0, 1, targets[:, 0])
    input_lengths = np.maximum(input_lengths, min_steps(targets, target_lengths))
    log_probs = torch.tensor(logits).log_softmax(-1).transpose(0, 1)
    tg = torch.tensor(np.where(targets < 0, 1, targets), dtype=torch.long)
    il, tl = torch.tensor(input_lengths, dtype=torch.long), torch.tensor(target_lengths, dtype=torch.long)
    torch_mean = torch.nn.CTCLoss(reduction="mean")(log_probs, tg, il, tl).item()
    torch_sum = torch.nn.CTCLoss(reduction="sum")(log_probs, tg, il, tl).item()
    ours = lb.ctc(targets, logits, input_lengths, target_lengths)
    assert ours == pytest.approx(torch_sum / len(targets), rel=1e-13)
    assert lb.ctc(targets, logits, input_lengths, target_lengths, sample_weight=1 / target_lengths) == pytest.approx(
        torch_mean, rel=1e-13)
    assert abs(ours - torch_mean) > 0.1  # the two means are different numbers


def test_an_impossible_target_is_an_error_or_zero_as_torch_zero_infinity():
    torch = import_torch()
    logits = np.random.default_rng(6).normal(size=(2, 3, 3))
    targets, input_lengths, target_lengths = np.array([[1, 1, -1], [1, 2, -1]]), [3, 3], [2, 2]
    short = [2, 3]  # "1 1" needs 3 steps
    with pytest.raises(ValueError, match=r"targets of sample 0 .* input_lengths\[0\] = 2 steps.*zero_infinity"):
        lb.ctc(targets, logits, short, target_lengths)
    value, grad = lb.ctc.value_and_grad(targets, logits, short, target_lengths, reduction="none", zero_infinity=True)
    z = torch.tensor(logits, requires_grad=True)
    theirs = torch.nn.CTCLoss(reduction="none", zero_infinity=True)(
        z.log_softmax(-1).transpose(0, 1), torch.tensor(np.where(targets < 0, 1, targets)), torch.tensor(short),
        torch.tensor(target_lengths))
    theirs.sum().backward()
    np.testing.assert_allclose(value, theirs.detach().numpy(), rtol=1e-13)
    np.testing.assert_allclose(grad, z.grad.numpy(), rtol=1e-12, atol=1e-15)
    assert value[0] == 0 and np.all(grad[0] == 0) and value[1] > 0
    plain = torch.nn.CTCLoss(reduction="none")(z.log_softmax(-1).transpose(0, 1),
                                               torch.tensor(np.where(targets < 0, 1, targets)), torch.tensor(short),
                                               torch.tensor(target_lengths))
    assert torch.isinf(plain[0])  # what torch returns without the option
    assert lb.ctc(targets, logits, input_lengths, target_lengths) > 0  # with the steps it needs, it is finite


@pytest.mark.parametrize("call, word", [
    (lambda z: lb.ctc([[1, 2]], z, [4], [2], blank=3), "blank must be a class id below C = 3"),
    (lambda z: lb.ctc([[1, 0]], z, [4], [2]), "other than the blank"),
    (lambda z: lb.ctc([[1, 3]], z, [4], [2]), r"class ids in \[0, 3\)"),
    (lambda z: lb.ctc([[1, 2]], z, [5], [2]), r"input_lengths must be in \[1, T\] = \[1, 4\]"),
    (lambda z: lb.ctc([[1, 2]], z, [0], [0]), "input_lengths must be in"),
    (lambda z: lb.ctc([[1, 2]], z, [4], [3]), "target_lengths must be at most S = 2"),
    (lambda z: lb.ctc([[1, 2]], z, [4.5], [2]), "input_lengths must be non-negative integers"),
    (lambda z: lb.ctc([1, 2], z, [4], [2]), r"targets must have shape \(N, S\)"),
    (lambda z: lb.ctc([[1, 2]], z[0], [4], [2]), r"logits must have shape \(N, T, C\)"),
    (lambda z: lb.ctc([[1, 2], [1, 2]], z, [4, 4], [2, 2]), r"logits must have 2 rows, one per sample \(as targets\)"),
])
def test_bad_input_names_what_is_wrong(call, word):
    z = np.zeros((1, 4, 3))
    with pytest.raises(ValueError, match=word):
        call(z)


def test_keras_reads_zero_padded_targets_and_whole_inputs():
    keras = import_keras()
    rng = np.random.default_rng(7)
    logits = rng.normal(size=(6, 5, 4))
    target_lengths = np.array([0, 1, 2, 3, 3, 2])
    targets = rng.integers(1, 4, size=(6, 3)).astype(float)
    targets[np.arange(3)[None, :] >= target_lengths[:, None]] = -1
    ours = lb.ctc(targets, logits, np.full(6, 5), target_lengths, reduction="none")
    theirs = np.asarray(keras.losses.ctc(np.where(targets < 0, 0, targets).astype("int32"), logits.astype("float32")))
    np.testing.assert_allclose(theirs, ours, rtol=1e-5)
    # the Keras bridge takes lossbook's -1 padding and reads every input whole
    bridged = lb.ctc.keras()(targets, logits)
    np.testing.assert_allclose(np.asarray(bridged.detach()), ours, rtol=1e-14)


def test_empty_label_sequences_may_have_no_columns_at_all():
    torch = import_torch()
    logits = np.random.default_rng(8).normal(size=(2, 3, 4))
    value = lb.ctc(np.zeros((2, 0)), logits, [3, 2], [0, 0], reduction="none")
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    np.testing.assert_allclose(value, [-logp[0, :, 0].sum(), -logp[1, :2, 0].sum()], rtol=1e-14)
    theirs = torch.nn.CTCLoss(reduction="none")(torch.tensor(logits).log_softmax(-1).transpose(0, 1),
                                                torch.zeros((2, 0), dtype=torch.long), torch.tensor([3, 2]),
                                                torch.tensor([0, 0]))
    np.testing.assert_allclose(value, theirs.numpy(), rtol=1e-14)


def test_a_likelihood_below_float64s_range_is_an_infinite_loss_not_a_perfect_one():
    # scores near 1e308 against the labels over 200 steps: -log P is about 4e308, past float64's range
    logits = np.zeros((1, 200, 3))
    logits[..., 0], logits[..., 1:] = 1e306, -1e306
    targets = np.array([[1.0, 2.0] * 100])
    value, grad = lb.ctc.value_and_grad(targets, logits, [200], [200], reduction="none")
    assert value[0] == np.inf and np.all(np.isnan(grad))  # as torch: inf, and no usable gradient
    value, grad = lb.ctc.value_and_grad(targets, logits, [200], [200], reduction="none", zero_infinity=True)
    assert value[0] == 0 and np.all(grad == 0)
    # a certain path gives 0, never a tiny negative number
    certain = np.full((1, 1000, 3), -50.0)
    certain[0, :, 0] = 50.0
    certain[0, 0, 0], certain[0, 0, 1] = -50.0, 50.0
    assert lb.ctc([[1]], certain, [1000], [1]) >= 0


def test_the_keras_bridge_reads_a_target_up_to_its_first_padding_entry():
    logits = np.random.default_rng(9).normal(size=(2, 4, 4))
    y_true = np.array([[1.0, 2.0, -1.0], [3.0, -1.0, 2.0]])  # the second: length 1, what follows is ignored
    bridged = np.asarray(lb.ctc.keras(blank=0)(y_true, logits).detach())
    np.testing.assert_allclose(bridged, lb.ctc(y_true, logits, [4, 4], [2, 1], reduction="none"), rtol=1e-14)


def test_blank_must_be_an_integer():
    with pytest.raises(TypeError, match="blank must be an integer class id"):
        lb.ctc([[1]], np.zeros((1, 2, 3)), [2], [1], blank=1.0)
