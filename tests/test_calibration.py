"""ECE, the reliability diagram's data and temperature scaling (lossbook/calibration.py)."""
import numpy as np
import pytest

import lossbook as lb

RNG = np.random.default_rng(0)
Z = RNG.normal(scale=3, size=(400, 4))
P = np.exp(Z - Z.max(1, keepdims=True))
P /= P.sum(1, keepdims=True)
Y = RNG.integers(0, 4, 400)


def test_ece_is_the_literal_definition():
    conf, correct = P.max(1), P.argmax(1) == Y
    literal = sum(np.mean(sel) * abs(correct[sel].mean() - conf[sel].mean())
                  for m in range(10) if (sel := (conf > m / 10) & (conf <= (m + 1) / 10)).any())
    assert lb.calibration.ece(P, Y, n_bins=10) == pytest.approx(literal, abs=1e-15)


def test_one_bin_is_a_lower_bound():
    one = lb.calibration.ece(P, Y, n_bins=1)
    assert one == pytest.approx(abs(np.mean(P.argmax(1) == Y) - P.max(1).mean()), abs=1e-15)
    assert all(lb.calibration.ece(P, Y, n_bins=m) >= one - 1e-15 for m in (2, 5, 15, 50))


def test_perfectly_calibrated_labels_have_small_ece():
    labels = np.array([RNG.choice(4, p=p) for p in P])  # labels drawn from the predicted probabilities
    assert lb.calibration.ece(P, labels) < 0.08 < lb.calibration.ece(P, Y)


def test_reliability_counts_every_sample_once():
    centres, conf, acc, count = lb.calibration.reliability(P, Y, n_bins=15)
    assert count.sum() == len(Y) and np.all((conf > centres - 1 / 30) & (conf <= centres + 1 / 30))
    assert np.all((acc >= 0) & (acc <= 1))


def test_fit_temperature_recovers_the_temperature_labels_were_drawn_at():
    logits = RNG.normal(scale=2, size=(4000, 5))
    true_t = 2.5
    soft = np.exp(logits / true_t)
    soft /= soft.sum(1, keepdims=True)
    labels = np.array([RNG.choice(5, p=p) for p in soft])
    assert lb.calibration.fit_temperature(logits, labels) == pytest.approx(true_t, rel=0.1)


@pytest.mark.parametrize("call, word", [
    (lambda: lb.calibration.ece(P[:, :1] * 2, Y), "probs"),
    (lambda: lb.calibration.ece(P, Y[:-1]), "labels"),
    (lambda: lb.calibration.ece(P, Y + 4), "labels"),
    (lambda: lb.calibration.ece(P, Y, n_bins=0), "n_bins"),
    (lambda: lb.calibration.fit_temperature(Z[0], Y), "logits"),
    (lambda: lb.calibration.fit_temperature(Z, Y, bounds=(0.0, 1.0)), "bounds"),
])
def test_bad_input_names_the_argument(call, word):
    with pytest.raises(ValueError, match=word):
        call()
