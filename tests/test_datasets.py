"""The MNIST loader: the IDX reader on files written here, the cache lookup, the offline fallback
and the errors for bad files.  Nothing here touches the network."""
from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from lossbook import datasets as D


def write_idx(path, array, code=0x08, gz=False):
    array = np.asarray(array)
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.dtype(D._IDX_DTYPES[code])).tobytes()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("code,values", [(0x08, [[0, 255], [7, 128]]), (0x0C, [[-5, 70000]]),
                                         (0x0D, [[1.5, -2.25]]), (0x0E, [0.1, 1e300]), (0x0B, [[[-3]]])])
def test_read_idx_round_trip(tmp_path, gz, code, values):
    expected = np.asarray(values)
    out = D.read_idx(write_idx(tmp_path / "x.idx", expected, code=code, gz=gz))
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out, expected.astype(out.dtype))
    assert out.dtype.isnative


def test_read_idx_detects_gzip_by_content_not_name(tmp_path):
    p = write_idx(tmp_path / "plain-name", np.arange(6).reshape(2, 3), gz=True)
    np.testing.assert_array_equal(D.read_idx(p), np.arange(6).reshape(2, 3))


@pytest.mark.parametrize("raw,words", [
    (b"\x01\x02\x08\x01" + struct.pack(">I", 1) + b"\x00", "not an IDX file"),
    (b"\x00\x00\x07\x01" + struct.pack(">I", 1) + b"\x00", "unknown IDX type code 0x07"),
    (b"\x00\x00\x08\x00", "0 dimensions"),
    (b"\x00\x00\x08\x02" + struct.pack(">I", 2), "truncated IDX header"),
    (b"\x00\x00\x08\x01" + struct.pack(">I", 5) + b"\x00\x01", "truncated or corrupt"),
    (b"\x00\x00\x08\x01" + struct.pack(">I", 1) + b"\x00\x01", "truncated or corrupt"),
    (b"\x1f\x8bnot really gzip", "gzip"),
    (b"", "not an IDX file"),
])
def test_read_idx_rejects_bad_files_naming_them(tmp_path, raw, words):
    p = tmp_path / "bad.idx"
    p.write_bytes(raw)
    with pytest.raises(ValueError) as info:
        D.read_idx(p)
    assert words in str(info.value) and "bad.idx" in str(info.value)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        D.read_idx(tmp_path / "nope")


def _fake_mnist(tmp_path, n_train=5, n_test=3, gz=False, labels=None):
    rng = np.random.default_rng(0)
    files = {}
    for part, n in (("train", n_train), ("test", n_test)):
        files[f"{part}_images"] = rng.integers(0, 256, size=(n, 28, 28))
        files[f"{part}_labels"] = rng.integers(0, 10, size=n) if labels is None else np.asarray(labels)[:n]
    for key, arr in files.items():
        name = D.MNIST_FILES[key] + (".gz" if gz else "")
        write_idx(tmp_path / name, arr, gz=gz)
    return files


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reads_the_cache(tmp_path, gz, capsys):
    files = _fake_mnist(tmp_path, gz=gz)
    data = D.mnist(tmp_path)
    assert data.source == "mnist" and "MNIST from" in capsys.readouterr().out
    assert data.X_train.shape == (5, 784) and data.X_test.shape == (3, 784)
    assert data.X_train.dtype == np.float32 and data.y_train.dtype == np.int64
    np.testing.assert_allclose(data.X_train[1], files["train_images"][1].ravel() / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(data.y_test, files["test_labels"])
    Xtr, ytr, Xte, yte = data  # unpacks like every Split
    assert len(Xtr) == len(ytr) == 5


def test_mnist_offline_fallback_is_the_digits_shaped_like_mnist(tmp_path, capsys):
    data = D.mnist(tmp_path / "empty", download=False)
    out = capsys.readouterr().out
    assert data.source == "sklearn-digits" and "MNIST not available" in out and "8x8 digits" in data.note
    assert data.X_train.shape == (1500, 784) and data.X_test.shape == (297, 784)
    assert 0.0 <= data.X_train.min() and data.X_train.max() <= 1.0
    img = data.X_train[0].reshape(28, 28)
    assert np.all(img[:2] == 0) and np.all(img[:, -2:] == 0)  # the 2-pixel border
    assert set(np.unique(data.y_train)) == set(range(10))


def test_mnist_without_fallback_says_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        D.mnist(tmp_path, fallback=False)
    msg = str(info.value)
    assert "train-images-idx3-ubyte" in msg and "download=True" in msg


def test_mnist_download_failure_is_reported_and_falls_back(tmp_path, monkeypatch, capsys):
    import urllib.request

    def refuse(url, timeout):
        assert timeout == 0.5
        raise OSError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    data = D.mnist(tmp_path, download=True, timeout=0.5)
    assert data.source == "sklearn-digits" and "download failed" in data.note and "unreachable" in data.note
    with pytest.raises(FileNotFoundError, match="download failed"):
        D.mnist(tmp_path, download=True, timeout=0.5, fallback=False, verbose=False)


def test_mnist_download_writes_the_cache(tmp_path, monkeypatch):
    import io
    import urllib.request

    payload = {}
    for key, stem in D.MNIST_FILES.items():
        arr = np.zeros((2, 28, 28)) if "images" in key else np.array([3, 4])
        header = bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
        payload[stem + ".gz"] = gzip.compress(header + arr.astype(np.uint8).tobytes())

    def fake_urlopen(url, timeout):
        return io.BytesIO(payload[url.rsplit("/", 1)[1]])

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    data = D.mnist(tmp_path / "cache", download=True, verbose=False)
    assert data.source == "mnist" and list(data.y_train) == [3, 4]
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == sorted(payload)


def test_mnist_rejects_inconsistent_files(tmp_path):
    _fake_mnist(tmp_path)
    write_idx(tmp_path / D.MNIST_FILES["train_labels"], np.zeros(4))  # 5 images, 4 labels
    with pytest.raises(ValueError, match="do not match"):
        D.mnist(tmp_path)
    write_idx(tmp_path / D.MNIST_FILES["train_labels"], np.full(5, 12))
    with pytest.raises(ValueError, match="digits 0..9"):
        D.mnist(tmp_path)
    (tmp_path / D.MNIST_FILES["test_images"]).write_bytes(b"\x00\x00\x08\x03")
    with pytest.raises(ValueError, match="t10k-images"):
        D.mnist(tmp_path)


def test_default_data_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LOSSBOOK_DATA", str(tmp_path))
    assert D.default_data_dir() == tmp_path / "mnist"


def test_digit_shifts_move_pixels_with_zero_fill():
    import lossbook as lb

    img = np.arange(1.0, 65.0)[None]  # one 8x8 image with every pixel distinct and non-zero
    same = lb.datasets.shift_digits(img, np.array([1]), np.array([1]))
    np.testing.assert_array_equal(same, img)
    down = lb.datasets.shift_digits(img, np.array([0]), np.array([1])).reshape(8, 8)  # moved one row down
    np.testing.assert_array_equal(down[0], 0.0)
    np.testing.assert_array_equal(down[1:], img.reshape(8, 8)[:-1])
    one = lb.datasets.shift_digits_one_pixel(np.repeat(img, 50, axis=0), np.random.default_rng(0))
    moved = (one != img).any(axis=1)
    assert moved.all() and set((one == 0).sum(axis=1)) <= {8, 15}  # a row or column of 8 zeros, or both (15)
    noisy = lb.datasets.augment_digits(np.repeat(img, 4, axis=0), np.random.default_rng(1), noise=0.0)
    assert noisy.shape == (4, 64) and set(np.unique(noisy)) <= set(np.r_[0.0, img[0]])


def test_stacked_linears_start_where_torch_linear_layers_start():
    torch = pytest.importorskip("torch")
    import lossbook as lb

    w, b = lb.training.stacked_linears([3, 7], [5, 4, 2])
    assert [p.shape for p in w] == [(2, 5, 4), (2, 4, 2)] and [p.shape for p in b] == [(2, 1, 4), (2, 1, 2)]
    for k, seed in enumerate([3, 7]):
        torch.manual_seed(seed)
        net = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Linear(4, 2)).double()
        x = torch.randn(6, 5, dtype=torch.float64)
        stacked = torch.baddbmm(b[1], torch.baddbmm(b[0], x[None].expand(2, -1, -1), w[0]), w[1])[k]
        torch.testing.assert_close(stacked, net(x), rtol=1e-14, atol=1e-14)
