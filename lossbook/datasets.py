"""The source articles' datasets, with their settings as defaults.

Everything here is generated locally (scikit-learn's generators, NumPy) or read from files on
disk.  The one exception is ``mnist(download=True)``, which the book never calls: its chapters run
offline, on MNIST files already in the cache or on scikit-learn's bundled digits.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Split:
    """A train/test split, as the articles make it: the first ``n_train`` rows train."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    def __iter__(self):  # allows ``Xtr, ytr, Xte, yte = split``
        return iter((self.X_train, self.y_train, self.X_test, self.y_test))

    def __repr__(self) -> str:
        return (f"Split(train X{self.X_train.shape} y{self.y_train.shape}, "
                f"test X{self.X_test.shape} y{self.y_test.shape})")


def _split(X, y, n_train):
    if not 0 < n_train < len(X):
        raise ValueError(f"n_train must be between 1 and {len(X) - 1}, got {n_train}")
    return Split(X[:n_train], y[:n_train], X[n_train:], y[n_train:])


def regression(n_samples=5000, n_features=20, noise=0.1, random_state=1, n_train=2500) -> Split:
    """``make_regression`` with X and y standardised over the whole set, as seed 003 does.

    (Standardising before the split leaks the test set's mean and scale into training: harmless
    here, and kept so the numbers compare with the article's.)
    """
    from sklearn.datasets import make_regression
    from sklearn.preprocessing import StandardScaler

    X, y = make_regression(n_samples=n_samples, n_features=n_features, noise=noise, random_state=random_state)
    X = StandardScaler().fit_transform(X)
    y = StandardScaler().fit_transform(y.reshape(-1, 1))[:, 0]
    return _split(X, y, n_train)


def circles(n_samples=5000, noise=0.1, random_state=1, n_train=2500, labels="01") -> Split:
    """``make_circles``: two noisy concentric circles; ``labels="pm1"`` maps {0, 1} to {-1, 1}."""
    from sklearn.datasets import make_circles

    if labels not in ("01", "pm1"):
        raise ValueError(f"labels must be '01' or 'pm1', got {labels!r}")
    X, y = make_circles(n_samples=n_samples, noise=noise, random_state=random_state)
    y = y.astype(float)
    if labels == "pm1":
        y = 2 * y - 1
    return _split(X, y, n_train)


def blobs(n_samples=5000, centers=3, n_features=2, cluster_std=2.0, random_state=2, n_train=500,
          one_hot=True) -> Split:
    """``make_blobs`` with integer labels, or one-hot rows when ``one_hot`` (as seed 003 trains)."""
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples=n_samples, centers=centers, n_features=n_features, cluster_std=cluster_std,
                      random_state=random_state)
    y = np.eye(centers)[y] if one_hot else y
    return _split(X, y, n_train)


def fake_images(n_images=15000, image_shape=(3, 28, 28), n_classes=2, seed=42):
    """Random images with random labels, like torchvision's ``FakeData`` (which we do not depend on).

    Pixels are uniform in [0, 1) (what ``ToTensor`` gives for FakeData's random images); labels are
    uniform over the classes and independent of the pixels, so no model can beat chance on unseen
    images.  Returns ``(images (n, *image_shape) float32, labels (n,) int64)``.
    """
    rng = np.random.default_rng(seed)
    images = rng.random((n_images, *image_shape), dtype=np.float32)
    labels = rng.integers(0, n_classes, size=n_images)
    return images, labels


# --------------------------------------------------------------------------------------------
# MNIST (seed 002), read from IDX files; scikit-learn's 8x8 digits when MNIST is not available
# --------------------------------------------------------------------------------------------
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
#: Mirrors tried, in order, when ``mnist(download=True)`` (the files are the same everywhere, gzipped).
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

# IDX type codes (third byte of the magic number) -> big-endian dtypes
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


@dataclass
class ImageSplit(Split):
    """A :class:`Split` of flattened images that says where it came from.

    ``source`` is ``"mnist"`` or ``"sklearn-digits"``; ``note`` says in words what was loaded
    (and, for the fallback, why MNIST was not).
    """

    source: str = ""
    note: str = ""

    def __repr__(self) -> str:
        return f"ImageSplit(source={self.source!r}, {super().__repr__()})"


def read_idx(path) -> np.ndarray:
    """Read one IDX file (the format of the MNIST distribution), gzipped or not.

    The format: two zero bytes, a type code, the number of dimensions ``d``, then ``d`` big-endian
    uint32 sizes and the data, big-endian, row-major.  Raises ``ValueError`` naming the file when
    the header is not IDX, the type code is unknown, or the data are shorter or longer than the
    header announces; ``FileNotFoundError`` when the file does not exist.
    """
    import gzip
    import pathlib

    path = pathlib.Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip magic, whatever the file is called
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{path}: not a readable gzip file ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (expected two zero bytes, a type code and a rank; "
                         f"got {raw[:4]!r})")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        raise ValueError(f"{path}: unknown IDX type code 0x{code:02X}; expected one of "
                         f"{', '.join(f'0x{c:02X}' for c in _IDX_DTYPES)}")
    if ndim == 0:
        raise ValueError(f"{path}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} bytes, {header} needed for {ndim} dimensions)")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{path}: IDX header announces shape {shape} ({expected} bytes of data) but the file "
                         f"holds {len(raw) - header} bytes: truncated or corrupt")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def default_data_dir():
    """Where :func:`mnist` looks: ``$LOSSBOOK_DATA/mnist``, else ``~/.cache/lossbook/mnist``."""
    import os
    import pathlib

    root = os.environ.get("LOSSBOOK_DATA")
    return (pathlib.Path(root) if root else pathlib.Path.home() / ".cache" / "lossbook") / "mnist"


def _find(cache_dir, stem):
    for name in (stem, stem + ".gz"):
        if (cache_dir / name).is_file():
            return cache_dir / name
    return None


def _download_mnist(cache_dir, timeout, log):
    """Fetch the missing gzipped files into ``cache_dir``; returns an error message or ``None``."""
    import urllib.request

    cache_dir.mkdir(parents=True, exist_ok=True)
    errors = []
    for stem in MNIST_FILES.values():
        if _find(cache_dir, stem) is not None:
            continue
        for mirror in MNIST_MIRRORS:
            url = mirror + stem + ".gz"
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    data = response.read()
                tmp = cache_dir / (stem + ".gz.part")
                tmp.write_bytes(data)
                tmp.rename(cache_dir / (stem + ".gz"))
                log(f"downloaded {url}")
                break
            except Exception as exc:  # network down, DNS, HTTP error, timeout: try the next mirror
                errors.append(f"{url}: {type(exc).__name__}: {exc}")
        else:
            return "; ".join(errors)
    return None


# --------------------------------------------------------------------------------------------
# views of scikit-learn's 8x8 digits (rows of 64 pixels): what the contrastive chapters train on
# --------------------------------------------------------------------------------------------
#: the eight one-pixel moves, as (dy, dx) offsets into the padded image (1, 1 is no move)
ONE_PIXEL_MOVES = np.array([(0, 1), (2, 1), (1, 0), (1, 2), (0, 0), (0, 2), (2, 0), (2, 2)])


def shift_digits(images, dy, dx) -> np.ndarray:
    """8x8 digits (rows of 64 pixels) moved by ``(dy - 1, dx - 1)`` pixels each, zero fill;
    ``dy`` and ``dx`` hold one value in {0, 1, 2} per image."""
    images = np.asarray(images, dtype=float)
    n = len(images)
    padded = np.pad(images.reshape(n, 8, 8), ((0, 0), (1, 1), (1, 1)))
    rows = (np.asarray(dy)[:, None] + np.arange(8))[:, :, None]
    cols = (np.asarray(dx)[:, None] + np.arange(8))[:, None, :]
    return padded[np.arange(n)[:, None, None], rows, cols].reshape(n, 64)


def augment_digits(images, rng: np.random.Generator, noise: float = 0.05) -> np.ndarray:
    """One random view of each digit: a shift of up to one pixel each way, then Gaussian pixel noise."""
    dy, dx = rng.integers(0, 3, size=(2, len(images)))
    return shift_digits(images, dy, dx) + noise * rng.normal(size=(len(images), 64))


def shift_digits_one_pixel(images, rng: np.random.Generator) -> np.ndarray:
    """Each digit moved by exactly one pixel, in one of the eight directions (zero fill)."""
    moves = ONE_PIXEL_MOVES[rng.integers(0, 8, len(images))]
    return shift_digits(images, moves[:, 0], moves[:, 1])


def digits_784(n_train=1500, random_state=0) -> ImageSplit:
    """scikit-learn's bundled 8x8 digits (1797 images, no download), shaped like MNIST.

    Each 8x8 image is enlarged 3x by repeating pixels (24x24) and padded with 2 zero pixels on every
    side: 28x28 = 784 features in [0, 1], so a 784 -> ... -> 10 network applies unchanged.  The
    images are shuffled with ``random_state`` and split ``n_train`` / rest.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = digits.images / 16.0  # pixel values 0..16
    big = np.kron(images, np.ones((3, 3)))  # (n, 24, 24): each pixel becomes a 3x3 block
    big = np.pad(big, ((0, 0), (2, 2), (2, 2)))  # (n, 28, 28), digit centred like MNIST's
    X = big.reshape(len(big), 784).astype(np.float32)
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(random_state).permutation(len(X))
    X, y = X[order], y[order]
    if not 0 < n_train < len(X):
        raise ValueError(f"n_train must be between 1 and {len(X) - 1}, got {n_train}")
    note = (f"scikit-learn's 8x8 digits ({len(X)} images) enlarged to 28x28: {n_train} train, "
            f"{len(X) - n_train} test")
    return ImageSplit(X[:n_train], y[:n_train], X[n_train:], y[n_train:], source="sklearn-digits", note=note)


def mnist(cache_dir=None, *, download: bool = False, timeout: float = 10.0, fallback: bool = True,
          verbose: bool = True) -> ImageSplit:
    """MNIST as flattened float32 images in [0, 1] (60000 train, 10000 test) and int64 labels.

    Looks in ``cache_dir`` (default :func:`default_data_dir`) for the four IDX files, gzipped or
    not.  Only with ``download=True`` does it try to fetch missing files (each request gives up
    after ``timeout`` seconds); the book always calls it with ``download=False``, so it never touches
    the network.  When MNIST cannot be had, ``fallback=True`` returns :func:`digits_784` (and says
    so: ``.source``, ``.note`` and, with ``verbose``, a printed line); ``fallback=False`` raises
    ``FileNotFoundError`` listing the files it wanted.  Corrupt files raise ``ValueError``.
    """
    import pathlib

    log = print if verbose else (lambda *_: None)
    cache_dir = pathlib.Path(cache_dir) if cache_dir is not None else default_data_dir()
    missing = [stem for stem in MNIST_FILES.values() if _find(cache_dir, stem) is None]
    reason = f"MNIST files not found in {cache_dir}: {', '.join(missing)} (plain or .gz)"
    if missing and download:
        error = _download_mnist(cache_dir, timeout, log)
        missing = [stem for stem in MNIST_FILES.values() if _find(cache_dir, stem) is None]
        if missing:
            reason = f"MNIST download failed ({error})"
    if missing:
        if not fallback:
            hint = "" if download else " Call mnist(download=True) to fetch them, or copy them there."
            raise FileNotFoundError(reason + "." + hint)
        data = digits_784()
        data.note = f"MNIST not available ({reason}); using {data.note}"
        log(data.note)
        return data
    arrays = {key: read_idx(_find(cache_dir, stem)) for key, stem in MNIST_FILES.items()}
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"MNIST {part} files in {cache_dir} do not match: images {images.shape}, "
                             f"labels {labels.shape}; expected (n, rows, cols) and (n,)")
        if labels.size and (labels.min() < 0 or labels.max() > 9):
            raise ValueError(f"MNIST {part} labels in {cache_dir} must be digits 0..9; found {labels.min()}..{labels.max()}")

    def flat(images):
        return (images.reshape(len(images), -1) / 255.0).astype(np.float32)

    data = ImageSplit(flat(arrays["train_images"]), arrays["train_labels"].astype(np.int64),
                      flat(arrays["test_images"]), arrays["test_labels"].astype(np.int64), source="mnist",
                      note=f"MNIST from {cache_dir}: {len(arrays['train_labels'])} train, "
                           f"{len(arrays['test_labels'])} test images")
    log(data.note)
    return data
