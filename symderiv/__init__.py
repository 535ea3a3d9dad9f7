"""symderiv: derivatives of neural-network activation functions, symbolic and exact.

The public API:

* :func:`get`, :func:`names`: the catalogue (one record per activation).
* :func:`derive`: g'(z), g''(z), the a-form and the kinks of an activation.
* :func:`custom`: an activation from text, parsed safely (never ``eval``).
* :mod:`symderiv.errors`: the exceptions, all subclasses of ``SymderivError``.

>>> import symderiv
>>> symderiv.derive("sigmoid").derivative
exp(-z)/(1 + exp(-z))**2
"""

from .catalogue import Activation, Param, a, all_activations, get, names, z
from .derivation import Derivation, custom, derive
from .errors import SymderivError

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
    "z",
]
