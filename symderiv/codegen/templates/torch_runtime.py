"""Shared part of the PyTorch drop-ins: dtypes, kink conventions and the autograd Functions."""

import math

import torch

CONVENTIONS = ("torch", "jax", "left", "right", "mid")


def _param(activation, name, value, kind):
    """``value`` as a float, checked against the parameter's assumption (positive, real, ...)."""
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{activation}: parameter {name} must be a real number, got {value!r}") from None
    ok = {"positive": v > 0, "nonnegative": v >= 0, "negative": v < 0, "real": True}[kind]
    if not (ok and math.isfinite(v)):
        raise ValueError(f"{activation}: parameter {name} must be {kind} and finite, got {value!r}")
    return v


def _convention(activation, convention):
    if convention not in CONVENTIONS:
        raise ValueError(f"{activation}: unknown convention {convention!r} (valid: {', '.join(CONVENTIONS)})")
    return convention


def _work(x):
    """``x`` as the float tensor the forms compute on: float64 where the device has it."""
    if not x.is_floating_point():
        x = x.to(torch.get_default_dtype())
    if x.dtype != torch.float64 and x.device.type != "mps":
        return x.to(torch.float64)
    return x


def _finish(act, order, w, r, x, convention, params):
    """A form's result ``r`` on ``w``: full shape, ``convention``'s kink values, x's float dtype."""
    if not torch.is_tensor(r):  # a constant form (relu'' = 0)
        r = torch.full_like(w, r)
    elif r.shape != w.shape:
        r = r.expand(w.shape)
    if order:
        r = _patch_kinks(act, order, w, r, convention, params)
    dtype = x.dtype if x.is_floating_point() else torch.get_default_dtype()
    r = r.to(dtype)
    return x.view_as(x) if r is x else r  # autograd saves x: the identity returns a view of it


#: CPU tensors of float32 or float64 are computed by the NumPy kernels (symderiv.kernels, from the
#: same catalogue and stable forms: chunked, in place, threaded; zero-copy), as a few framework
#: operations per term cannot be on a CPU. Other devices and dtypes (and vmap) run the torch forms.
#: False: the torch forms everywhere.
USE_NUMPY_ON_CPU = True

try:
    _wrapped = torch._C._functorch.is_functorch_wrapped_tensor
except AttributeError:  # pragma: no cover - older torch

    def _wrapped(t):
        return False


#: Under torch.compile the torch forms are traced into the graph (inductor fuses them). False:
#: CPU float32/float64 tensors still go to the NumPy kernels, as the custom operators
#: ``symderiv::kernel`` and ``symderiv::value_and_grad``, opaque to the compiler (one graph
#: still, ``fullgraph=True`` works); measured faster here for some activations
#: (benchmarks/bench_dropins.py --compile: float32 leaky_relu 3.5 against 9.0 ms at 10^6, as the
#: forms compute float32 in float64 and inductor stores the boolean masks the backward keeps
#: slowly).
TRACE_UNDER_COMPILE = True

_compiling = getattr(getattr(torch, "compiler", None), "is_compiling", lambda: False)


def _on_numpy(x):
    if not (USE_NUMPY_ON_CPU and x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64)
            and x.layout == torch.strided):
        return False
    if _compiling():  # through the custom operators (dynamo cannot trace _wrapped, and warns)
        return not TRACE_UNDER_COMPILE and _custom_op is not None
    return not _wrapped(x)


def _patch_kinks(act, order, x, r, convention, params):
    """``r`` = g^(order)(x) with ``convention``'s values at the kinks (kernels and forms carry
    PyTorch's)."""
    if convention != "torch":
        for b, values in act.kinks(*params):
            r = torch.where(x == b, values[convention][order - 1], r)
    return r


def _as_numpy(x):
    """x's data for the NumPy kernels, zero-copy: float32 is computed in float32 where that kernel
    keeps its accuracy bound in float32 ULP (and widened by the kernel where it does not), as
    the NumPy kernels do; widening here cost 3-4x the time at 10^6 (casts both ways and the
    float64 kernel). The torch forms (other devices, or USE_NUMPY_ON_CPU = False) give the
    float64 result rounded once."""
    return x.detach().numpy()


#: The activations by name, for the custom operators (which take names, not objects).
_ACTIVATIONS = {}


def _numpy_one(x, act, order, params):
    return torch.from_numpy(act.numpy[order](_as_numpy(x), **dict(zip(act.params, params))))


def _numpy_pair(x, act, params):
    value, grad = act.numpy[2](_as_numpy(x), **dict(zip(act.params, params)))
    return torch.from_numpy(value), torch.from_numpy(grad)


_custom_op = getattr(getattr(torch, "library", None), "custom_op", None)
#: The operators' namespace: this package's top-level name (``symderiv``; a custom activation's
#: package has its own copy of this module, whose operators must not replace these: a second
#: registration of a name silently takes its place).
_NAMESPACE = "".join(c if c.isalnum() else "_" for c in __name__.partition(".")[0])
if _custom_op is not None:
    @_custom_op(f"{_NAMESPACE}::kernel", mutates_args=())
    def _op_kernel(x: torch.Tensor, name: str, order: int, params: list[float]) -> torch.Tensor:
        """The NumPy kernel for g (order 0) or g' (1) of ``name``, for torch.compile."""
        return _numpy_one(x, _ACTIVATIONS[name], order, params)

    @_op_kernel.register_fake
    def _(x, name, order, params):
        return torch.empty(x.shape, dtype=x.dtype)  # the kernels' outputs are C-contiguous

    @_custom_op(f"{_NAMESPACE}::value_and_grad", mutates_args=())
    def _op_pair(x: torch.Tensor, name: str, params: list[float]) -> tuple[torch.Tensor, torch.Tensor]:
        """The NumPy kernel for (g, g') of ``name``, for torch.compile."""
        return _numpy_pair(x, _ACTIVATIONS[name], params)

    @_op_pair.register_fake
    def _(x, name, params):
        return torch.empty(x.shape, dtype=x.dtype), torch.empty(x.shape, dtype=x.dtype)


def _eval(act, order, x, convention, params):
    """g^(order)(x) at ``convention``'s kink values, in x's float dtype."""
    if order < 2 and _on_numpy(x):
        if _compiling():
            r = _op_kernel(x, act.name, order, list(params))
        else:
            r = _numpy_one(x, act, order, params)
        return _patch_kinks(act, order, x, r, convention, params)
    w = _work(x)
    return _finish(act, order, w, (act.g, act.grad, act.grad2)[order](w, *params), x, convention, params)


def _eval_pair(act, x, convention, params):
    """(g(x), g'(x)) from one pass over the shared work."""
    if _on_numpy(x):
        value, grad = (_op_pair(x, act.name, list(params)) if _compiling() else _numpy_pair(x, act, params))
        return value, _patch_kinks(act, 1, x, grad, convention, params)
    w = _work(x)
    value, grad = act.value_and_grad(w, *params)
    return (_finish(act, 0, w, value, x, convention, params),
            _finish(act, 1, w, grad, x, convention, params))


class _Value(torch.autograd.Function):
    """g(x); the forward also computes g'(x) (sharing the work) and saves it for the backward."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x, act, convention, params):
        return _eval_pair(act, x, convention, params)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, act, convention, params = inputs
        ctx.mark_non_differentiable(output[1])
        ctx.save_for_backward(x, output[1])
        ctx.args = (act, convention, params)
        # no tensor of zeros for the gradient of the (non-differentiable) g' output: measured
        # at 10^6 float64, allocating and filling it cost more than the backward's multiply
        ctx.set_materialize_grads(False)

    @staticmethod
    def backward(ctx, grad, _grad_of_derivative):
        if grad is None:
            return None, None, None, None
        x, derivative = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph: g' as a differentiable function of x
            derivative = _Grad.apply(x, *ctx.args)
        return grad * derivative, None, None, None


class _Grad(torch.autograd.Function):
    """g'(x), whose backward is g''(x) from its stable form (plain operations: differentiable again)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x, act, convention, params):
        return _eval(act, 1, x, convention, params)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, act, convention, params = inputs
        ctx.save_for_backward(x)
        ctx.args = (act, convention, params)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * _eval(ctx.args[0], 2, x, *ctx.args[1:]), None, None, None


class Activation:
    """One activation's forms: ``g``, ``grad``, ``grad2``, ``value_and_grad`` (in z and the
    parameters) and ``kinks``."""

    def __init__(self, name, g, grad, grad2, kinks, value_and_grad, numpy, params):
        self.name, self.g, self.grad, self.grad2, self.kinks = name, g, grad, grad2, kinks
        self.value_and_grad = value_and_grad
        #: the NumPy kernels (g, g', value_and_grad) and the names of the parameters
        self.numpy, self.params = numpy, params
        _ACTIVATIONS[name] = self

    def apply(self, x, convention, params):
        _convention(self.name, convention)
        if not torch.is_tensor(x):
            x = torch.as_tensor(x, dtype=torch.get_default_dtype())
        if x.is_complex():
            raise TypeError(f"{self.name}: complex input")
        if torch.is_grad_enabled() and x.requires_grad:
            return _Value.apply(x, self, convention, params)[0]
        return _eval(self, 0, x, convention, params)  # no graph: g alone

    def __repr__(self):
        return f"<symderiv.kernels.torch activation {self.name}>"
