"""Importing the frameworks the book compares against, with their settings pinned.

Keras must see ``KERAS_BACKEND=torch`` before it is first imported, so every Keras import in the
package and the book goes through :func:`import_keras`.  torch and Keras are imported lazily:
``import lossbook`` needs NumPy only.
"""
from __future__ import annotations

import os
import sys


def limit_threads() -> None:
    """Run torch single-threaded unless the user chose otherwise (``OMP_NUM_THREADS``).

    The book's networks are tiny: intra-op threads buy nothing, and on a busy 2-core machine torch's
    spinning thread pool made a Keras training run 7x slower (measured: 10 epochs in 56 s with two
    threads under load, 7.9 s with one).  Called by ``import lossbook``.
    """
    if "OMP_NUM_THREADS" in os.environ:
        return
    os.environ["OMP_NUM_THREADS"] = "1"
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def import_torch():
    import torch

    return torch


def import_keras():
    """Keras 3 on the torch backend (no TensorFlow anywhere)."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    if os.environ["KERAS_BACKEND"] != "torch":
        raise RuntimeError(f"KERAS_BACKEND is {os.environ['KERAS_BACKEND']!r}; lossbook compares against the torch backend")
    import keras

    if keras.backend.backend() != "torch":
        raise RuntimeError("keras was imported with another backend before lossbook set KERAS_BACKEND=torch; "
                           "restart the kernel and import lossbook (or set KERAS_BACKEND=torch) first")
    return keras


def import_jax():
    """JAX (CPU) with 64-bit floats, and optax: ``(jax, jax.numpy, optax)``.

    JAX computes in float32 unless x64 is enabled before the first array is made; lossbook
    compares in float64, so x64 is switched on here, once, before anything else uses JAX.
    """
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import optax

    return jax, jnp, optax


def keras_per_sample(class_name: str, y_true, y_pred, *, pointwise: bool = True, **kwargs):
    """Per-sample values of ``keras.losses.<class_name>(reduction=None, **kwargs)`` as float64 NumPy.

    Keras casts to float32 whatever it is given, and first reduces the last axis of each sample:
    for a pointwise loss on 1-D input that would collapse the whole batch into one "sample", so
    ``(N,)`` arrays are handed over as ``(N, 1)``.  Sparse labels go over as int64.
    """
    import numpy as np

    keras = import_keras()
    yt, yp = np.asarray(y_true), np.asarray(y_pred)
    if pointwise and yp.ndim == 1:
        yt, yp = yt[:, None], yp[:, None]
    yt = yt.astype("int64") if class_name == "SparseCategoricalCrossentropy" else yt.astype("float32")
    out = getattr(keras.losses, class_name)(reduction=None, **kwargs)(yt, yp.astype("float32"))
    return np.asarray(out, dtype=np.float64)


def versions() -> dict:
    """Versions of everything a comparison depends on (printed at the top of each chapter)."""
    import numpy
    import sys

    out = {"python": sys.version.split()[0], "numpy": numpy.__version__}
    for mod in ("torch", "keras", "torchmetrics", "jax", "optax"):
        try:
            out[mod] = __import__(mod).__version__ if mod != "keras" else import_keras().__version__
        except ImportError:
            out[mod] = "not installed"
    return out


def torch_tensor(x, dtype="float64", requires_grad=False):
    torch = import_torch()
    return torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=requires_grad)


def to_numpy(t):
    return t.detach().cpu().double().numpy() if hasattr(t, "detach") else __import__("numpy").asarray(t, dtype=float)
