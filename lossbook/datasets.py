"""The source articles' datasets, with their settings as defaults.

Everything here is generated locally (scikit-learn's generators, NumPy) or read from files on
disk: nothing is downloaded at run time.
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
