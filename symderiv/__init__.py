"""symderiv: derivatives of neural-network activation functions, symbolic and exact.

The public API:

* :func:`get`, :func:`names`: the catalogue (one record per activation).
* :func:`derive`: g'(z), g''(z), the a-form and the kinks of an activation.
* :func:`custom`: an activation from text, parsed safely (never ``eval``).
* :func:`steps`: g'(z) derived step by step with named rules, every step checked.
* :func:`table`: the summary table (max slope, limits, flags, ...) computed per activation;
  plots are :func:`symderiv.teach.plot.plot` (needs matplotlib).
* :mod:`symderiv.errors`: the exceptions, all subclasses of ``SymderivError``.

>>> import symderiv
>>> symderiv.derive("sigmoid").derivative
exp(-z)/(1 + exp(-z))**2
"""

from .catalogue import Activation, Param, a, all_activations, get, names, z
from .derivation import Derivation, custom, derive
from .errors import SymderivError
from .teach.steps import steps
from .teach.table import table

__version__ = "0.1.0"

__all__ = [
    "Activation",
    "Derivation",
    "Param",
    "SymderivError",
    "__version__",
    "a",
    "all_activations",
    "custom",
    "derive",
    "get",
    "names",
    "steps",
    "table",
    "z",
]
