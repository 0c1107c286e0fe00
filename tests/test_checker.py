"""lb.check as a student meets it: every mistake named in words, never the checker's traceback."""
import numpy as np
import pytest

import lossbook as lb


def _huber(y, p, delta=1.0):
    e = np.abs(p - y)
    per = np.where(e <= delta, 0.5 * e**2, delta * (e - 0.5 * delta))
    return np.mean(per.mean(axis=-1) if per.ndim == 2 else per)


def _mse_full(y, p, sample_weight=None, reduction="mean"):
    per = ((p - y) ** 2).mean(axis=-1) if p.ndim == 2 else (p - y) ** 2
    per = per if sample_weight is None else per * sample_weight
    return {"mean": per.sum() / len(per), "sum": per.sum(), "none": per}[reduction]


def _bce(y, p):
    return np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _triplet(a, p, n):  # the textbook distance, without torch's eps
    d = lambda x, z: np.linalg.norm(x - z, axis=1)  # noqa: E731
    return np.mean(np.maximum(d(a, p) - d(a, n) + 1.0, 0.0))


def _verdict(capsys, candidate, loss, **kw):
    ok = lb.check(candidate, loss, **kw)
    return ok, capsys.readouterr().out


def test_hyperparameters_reach_a_candidate_that_takes_them(capsys):
    ok, out = _verdict(capsys, _huber, "huber", delta=2.0)
    assert ok and "passed to your function: delta=2.0" in out
    ok, out = _verdict(capsys, lambda y, p: _huber(y, p, 2.0), "huber", delta=2.0)
    assert ok and "takes no `delta` argument" in out


def test_sample_weight_and_reduction_are_checked_when_the_candidate_takes_them(capsys):
    ok, out = _verdict(capsys, _mse_full, "mean_squared_error")
    assert ok and "12 test inputs" in out  # 9 plain cases + weights + sum + none
    ignores = lambda y, p, sample_weight=None: _mse_full(y, p)  # noqa: E731
    ok, out = _verdict(capsys, ignores, "mean_squared_error")
    assert not ok and "ignores it" in out and "sample_weight" in out
    no_sum = lambda y, p, reduction="mean": _mse_full(y, p)  # noqa: E731
    ok, out = _verdict(capsys, no_sum, "mean_squared_error")
    assert not ok and "`reduction`" in out


def test_float32_rounding_is_named(capsys):
    f32 = lambda y, p: np.mean((p.astype(np.float32) - y.astype(np.float32)) ** 2)  # noqa: E731
    ok, out = _verdict(capsys, f32, "mean_squared_error")
    assert not ok and "float32 rounding" in out and "float64" in out


def test_zero_log_zero_is_explained_not_blamed_on_overflow(capsys):
    naive = lambda y, p: np.mean(-np.sum(y * np.log(p), axis=-1))  # noqa: E731
    ok, out = _verdict(capsys, naive, "categorical_crossentropy")
    assert not ok and "0 * log(0)" in out and "xlogy" in out and "overflow" not in out


def test_a_forgotten_return_and_a_returned_pair_are_named(capsys):
    def forgot(y, p):
        np.mean((p - y) ** 2)

    ok, out = _verdict(capsys, forgot, "mean_squared_error")
    assert not ok and "forget `return`" in out
    pair = lambda y, p: (np.mean((p - y) ** 2), 2 * (p - y) / p.size)  # noqa: E731
    ok, out = _verdict(capsys, pair, "mean_squared_error")
    assert not ok and "returned a pair" in out and "what='grad'" in out


def test_known_conventions_are_named_with_the_option_that_matches_them(capsys):
    def keras_bce(y, p):
        return _bce(y, np.clip(p, 1e-7, 1 - 1e-7))

    ok, out = _verdict(capsys, keras_bce, "binary_crossentropy")
    assert not ok and "epsilon=1e-07" in out and "Keras clips" in out
    assert lb.check(keras_bce, "binary_crossentropy", epsilon=1e-7, verbose=False)
    ok, out = _verdict(capsys, _triplet, "triplet")
    assert not ok and "eps=0.0" in out
    assert lb.check(_triplet, "triplet", eps=0.0, verbose=False)


def test_a_sum_instead_of_a_mean_and_a_per_sample_array_are_named(capsys):
    total = lambda y, p: np.sum(((p - y) ** 2).mean(axis=-1) if p.ndim == 2 else (p - y) ** 2)  # noqa: E731
    ok, out = _verdict(capsys, total, "mean_squared_error")
    assert not ok and "you returned the sum" in out
    ok, out = _verdict(capsys, lambda y, p: (p - y) ** 2, "mean_squared_error")
    assert not ok and "one value per sample" in out


@pytest.mark.parametrize("returned", ["a string", [1, 2, 3]])
def test_odd_return_values_never_crash_the_checker(capsys, returned):
    ok, out = _verdict(capsys, lambda y, p: returned, "mean_squared_error")
    assert not ok and out.startswith("✗")
