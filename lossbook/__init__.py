"""lossbook: the loss functions of deep learning, derived and implemented from scratch in NumPy.

>>> import lossbook as lb
>>> lb.mean_squared_error([0.0, 1.0], [1.0, 1.0])
0.5
>>> lb.mean_squared_error.grad([0.0, 1.0], [1.0, 1.0])
array([1., 0.])
>>> lb.LOSSES["mean_squared_error"] is lb.mean_squared_error
True

Each loss keeps one contract (see :mod:`lossbook.core`): ``loss(y_true, y_pred, *,
reduction="mean", sample_weight=None, **hyperparameters)``, ``loss.grad(...)`` for the analytic
gradient, ``loss.torch()`` / ``loss.keras()`` for the frameworks.  Losses live in one module per
family; ``LOSSES`` lists them all.
"""
from .frameworks import limit_threads

limit_threads()  # before anything imports torch: see its docstring

from .core import LOSSES, Arg, Counterpart, Hyper, Loss, reduce, reduce_grad  # noqa: F401
from .regression import *  # noqa: F401,F403
from .probabilistic import *  # noqa: F401,F403
from .margin import *  # noqa: F401,F403
from .embedding import *  # noqa: F401,F403
from .ranking import *  # noqa: F401,F403
from .listwise import *  # noqa: F401,F403
from .custom import *  # noqa: F401,F403
from .infonce import *  # noqa: F401,F403
from .angular import *  # noqa: F401,F403
from .classification import *  # noqa: F401,F403
from .distributions import *  # noqa: F401,F403
from .segmentation import *  # noqa: F401,F403
from .fenchel_young import *  # noqa: F401,F403  (sparsemax_loss, and lb.sparsemax the projection)
from .sequences import *  # noqa: F401,F403
from .counterparts import attach_counterparts

attach_counterparts()  # torch, Keras, torchmetrics, pml, optax: see lossbook/counterparts.py
from . import calibration, datasets, plotting, training  # noqa: F401
from .compare import compare, cmp  # noqa: F401
from .exercises import check  # noqa: F401

__version__ = "0.1.0"

# doctest collects these: every loss's docstring ends with a runnable example
__test__ = {name: loss.__doc__ for name, loss in LOSSES.items()}


def families() -> dict[str, list[str]]:
    """Loss names grouped by family, in registration order."""
    out: dict[str, list[str]] = {}
    for name, loss in LOSSES.items():
        out.setdefault(loss.family, []).append(name)
    return out
