"""Shared driver of the generated kernels: dtypes, ``out=``, chunks and threads.

Each kernel body computes on one float64 chunk, one ufunc call per operation
into a few scratch buffers that stay allocated (see symderiv.codegen.lower);
chunks are spread over a thread pool (NumPy releases the GIL), and results are
written into the output (float32 in, float32 out; anything else real becomes
float64). A kernel that keeps its accuracy bound in float32 ULP also has a float32
body (``body32``), which computes float32 input in float32 on float32 scratch; the
others widen each float32 chunk to float64 and round the result once.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy

#: Elements per chunk (512 KiB of float64 per buffer). Measured here (2-core EPYC, 1 MiB L2
#: per core, 10^7 elements): 16384 and 32768 pay more per-call overhead, 131072 and up fall
#: out of cache; 65536 was fastest for every kernel tried.
CHUNK = 65536
#: Below this many elements everything runs in the calling thread.
THREADED_ABOVE = 1 << 16
WORKERS = max(1, min(8, os.cpu_count() or 1))

_pool = None
_local = threading.local()


def _workspace():
    """This thread's :class:`_Workspace` (CHUNK long), kept from call to call: allocating a kernel's
    scratch anew and touching it costs more than the kernel (measured here, mish on 65536
    elements: 1.2 ms of page faults for 7 buffers, against 0.25 ms of computing)."""
    ws = getattr(_local, "ws", None)
    if ws is None:
        ws = _local.ws = _Workspace(CHUNK)
    return ws


def _executor():
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="symderiv-kernel")
    return _pool


def _after_fork_in_child():
    """A forked child (multiprocessing's default on Linux, PyTorch DataLoader workers) inherits
    the parent's pool without its threads: work submitted to it would wait forever. Start over."""
    global _pool, _local
    _pool = None
    _local = threading.local()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _outputs(out, nout, shape, dtype):
    if out is None:
        # value_and_grad's two outputs as one block: freed together, it is reused by the next
        # call, where two blocks of up to 16 MiB were returned to the system and faulted in again
        # (glibc trims a heap top over twice the largest block; measured here, 200000 elements:
        # 1.7 ms of page faults against 1.1 ms of computing)
        block = numpy.empty((nout, *shape), dtype)
        return [block[k, ...] for k in range(nout)], False  # arrays, 0-d ones included
    outs = [out] if nout == 1 else list(out)
    if len(outs) != nout:
        raise ValueError(f"out must be a sequence of {nout} arrays")
    for o in outs:
        if not isinstance(o, numpy.ndarray) or o.shape != shape or o.dtype.kind != "f":
            raise ValueError(f"out arrays must be float ndarrays of shape {shape}")
        if not o.flags.writeable:
            raise ValueError("out array is read-only")
    return outs, True


def fix(x, r, specials):
    """``r`` (broadcast to ``x``) with the entries where ``x`` is a listed non-finite point replaced.

    ``specials`` holds (point, value) pairs, point being -inf, inf or nan.
    """
    r = numpy.array(numpy.broadcast_to(r, x.shape), dtype=numpy.float64)
    for point, value in specials:
        r[numpy.isnan(x) if point != point else x == point] = value
    return r


#: The integer type of the same width as each float type the kernels compute in (bit blends).
_BITS = {numpy.dtype(numpy.float64): numpy.int64, numpy.dtype(numpy.float32): numpy.int32}


def select(cond, a, b, out=None):
    """``a`` where ``cond``, else ``b``, bit for bit (inf, NaN and -0 included), without branches:
    the IEEE bit patterns are blended, ``b ^ ((a ^ b) * cond)`` on int64 views (int32 views for a
    float32 ``out``). ``out`` must not be ``a`` or ``b``."""
    dtype = numpy.dtype(numpy.float64) if out is None else out.dtype
    ints = _BITS[dtype]
    a = numpy.asarray(a, dtype).view(ints)
    b = numpy.asarray(b, dtype).view(ints)
    r = numpy.empty(numpy.broadcast(cond, a, b).shape, dtype) if out is None else out
    bits = r.view(ints)
    numpy.bitwise_xor(a, b, out=bits)
    numpy.multiply(bits, cond, out=bits)
    numpy.bitwise_xor(bits, b, out=bits)
    return r


def patch(cond, out, x, part, ws, params):
    """Overwrite ``out`` with ``part(x)`` where ``cond`` holds, computing it there only.

    ``part(x, outputs, workspace, *params)`` is a chunk function (the costly branch of a select,
    tanhshrink's continued fraction near 0). Where few entries need it (at most half), they are
    gathered, computed and scattered back: a fraction f of the chunk costs about 0.7 + f*cost
    ``exp`` passes, against cost + 1 for computing everywhere and selecting. Otherwise it is
    computed on the whole chunk and blended bit for bit (:func:`select`).
    """
    k = int(numpy.count_nonzero(cond))
    if k == 0:
        return
    n = x.size
    sub = ws.sub()
    sub.size = k if 2 * k <= n else n
    xin, res = sub.outputs(2, out.dtype)  # float32 in a float32 body
    if 2 * k <= n:
        idx = numpy.flatnonzero(cond)
        numpy.take(x, idx, out=xin)
        part(xin, [res], sub, *params)
        out[idx] = res
    else:
        part(x, [res], sub, *params)
        select(cond, res, out, out=xin)
        numpy.copyto(out, xin)


class _Workspace:
    """One thread's scratch arrays (``capacity`` long), sliced to the current chunk's ``size``."""

    def __init__(self, capacity):
        self.capacity = self.size = capacity
        self._pools = {}
        self._sub = None

    def sub(self):
        """A second workspace of the same capacity, for :func:`patch` (the first one is in use)."""
        if self._sub is None:
            self._sub = _Workspace(self.capacity)
        return self._sub

    def _get(self, kind, n, dtype):
        pool = self._pools.setdefault((kind, dtype), [])
        while len(pool) < n:
            pool.append(numpy.empty(self.capacity, dtype))
        return pool[:n] if self.size == self.capacity else [p[:self.size] for p in pool[:n]]

    def floats(self, n, dtype=numpy.float64):
        return self._get("f", n, dtype)

    def floats32(self, n):
        """``n`` float32 scratch arrays (a float32 body's)."""
        return self._get("f", n, numpy.float32)

    def bools(self, n):
        return self._get("b", n, numpy.bool_)

    def outputs(self, n, dtype=numpy.float64):
        return self._get("o", n, dtype)


def _same_elements(a, b):
    """Whether ``a`` and ``b`` (flat) are the very same elements: computing in place is safe."""
    return (a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
            and a.strides == b.strides and a.itemsize == b.itemsize and a.size == b.size)


def apply(body, z, out, nout, params, portable=None, body32=None):
    """Run ``body`` over ``z`` chunk by chunk; return one array (or a tuple of ``nout``, made as
    one block when ``out`` is None: see :func:`_outputs`).

    ``body(chunk, outputs, workspace, **params)`` writes its results into ``outputs``: straight
    into the output arrays when they are contiguous float64 and do not overlap the input,
    otherwise into scratch that is then cast (float32) or copied into place. ``body32``, where
    the kernel has one, takes float32 input instead, in float32 chunks, writing float32
    results (straight into contiguous float32 outputs); without it float32 chunks are widened
    to float64 for ``body``.

    An array of another library is not converted: a Dask array gives a lazy Dask array computed
    block by block by ``body`` (:func:`on_dask`); any other array that array-api-compat knows
    (torch, JAX, CuPy, ...) is computed by that library with ``portable(z, xp, **params)``, the
    same stable forms in its array-API namespace ``xp`` (:func:`on_array_api`).
    """
    if not isinstance(z, _NUMPY_TYPES) and _foreign(z):
        if out is not None:
            raise TypeError(f"out= is for NumPy arrays; got a {type(z).__module__}.{type(z).__name__} input")
        if _compat().is_dask_array(z):
            return on_dask(body, z, nout, params)
        return on_array_api(portable, z, nout, params)
    x = numpy.asarray(z)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"expected real numbers, got an array of dtype {x.dtype}")
    dtype = x.dtype if x.dtype.kind == "f" else numpy.dtype(numpy.float64)
    outs, given = _outputs(out, nout, x.shape, dtype)
    flat = x.reshape(-1)
    targets = [o.reshape(-1) if o.flags.c_contiguous else numpy.empty(o.size, o.dtype) for o in outs]
    shared = [numpy.may_share_memory(t, flat) for t in targets]  # bounds only: cheap, usually False
    if any(s and not _same_elements(t, flat) and numpy.shares_memory(t, flat) for s, t in zip(shared, targets, strict=True)):
        # an output overlapping the input with an offset (z = buf[:-1], out = buf[1:]) would
        # overwrite inputs of later chunks before they are read: read from a copy instead
        flat = flat.copy()
        shared = [False] * len(targets)
    work_dtype = numpy.dtype(numpy.float64)
    if body32 is not None and flat.dtype == numpy.float32:
        body, work_dtype = body32, flat.dtype
    direct = (all(t.dtype == work_dtype for t in targets)
              and not any(shared)
              and not (nout == 2 and numpy.may_share_memory(targets[0], targets[1])))
    n = flat.size

    def work(lo, hi):
        ws = _workspace()
        with numpy.errstate(all="ignore"):
            for s in range(lo, hi, CHUNK):
                e = min(s + CHUNK, hi)
                ws.size = e - s
                zc = flat[s:e]
                if zc.dtype != work_dtype:
                    zc = zc.astype(work_dtype)
                if direct:
                    body(zc, [t[s:e] for t in targets], ws, **params)
                else:
                    results = ws.outputs(nout, work_dtype)
                    body(zc, results, ws, **params)
                    for t, r in zip(targets, results, strict=True):
                        t[s:e] = r

    if n <= THREADED_ABOVE or WORKERS == 1:
        work(0, n)
    else:
        step = -(-n // (WORKERS * CHUNK)) * CHUNK
        futures = [_executor().submit(work, lo, min(lo + step, n)) for lo in range(0, n, step)]
        for f in futures:
            f.result()
    for o, t in zip(outs, targets, strict=True):
        if not o.flags.c_contiguous:
            o[...] = t.reshape(o.shape)
    if not given and x.ndim == 0:
        outs = [o[()] for o in outs]
    return outs[0] if nout == 1 else tuple(outs)


# ---------------------------------------------------------------- other array libraries

#: What the NumPy path takes without asking array-api-compat (the fast path's one check).
_NUMPY_TYPES = (numpy.ndarray, numpy.generic, float, int, bool, list, tuple)

#: Top-level modules of array types that must never go through numpy.asarray silently.
_FOREIGN_MODULES = frozenset({"torch", "jax", "jaxlib", "cupy", "dask", "ndonnx", "sparse", "mlx"})


def _compat():
    try:
        import array_api_compat
    except ImportError:
        raise TypeError("kernels on arrays of other libraries (torch, JAX, CuPy, Dask) need array-api-compat: "
                        "pip install 'symderiv[array]'") from None
    return array_api_compat


def _foreign(z):
    """Whether ``z`` is an array of another library (not NumPy's, not a Python sequence)."""
    if type(z).__module__.partition(".")[0] in _FOREIGN_MODULES:
        return True
    try:
        import array_api_compat
    except ImportError:
        return False
    return array_api_compat.is_array_api_obj(z) and not array_api_compat.is_numpy_array(z)


def _block(x, body, nout, params):
    """One block of a Dask array through the NumPy kernel ``body`` (a pair: a tuple)."""
    return apply(body, x, None, nout, params)


def on_dask(body, z, nout, params):
    """``body`` over the Dask array ``z``, lazily: one task per block (``map_blocks``, or
    ``apply_gufunc`` for a pair, which computes both outputs of a block in one task), each
    computed by the NumPy kernel, so the result is bit for bit the NumPy one."""
    import dask.array as da

    if z.dtype.kind not in "biuf":
        raise TypeError(f"expected real numbers, got an array of dtype {z.dtype}")
    dtype = z.dtype if z.dtype.kind == "f" else numpy.dtype(numpy.float64)
    if nout == 1:
        return z.map_blocks(_block, body, 1, params, dtype=dtype, meta=numpy.empty((0,) * z.ndim, dtype))
    return da.apply_gufunc(_block, "()->(),()", z, body=body, nout=nout, params=params,
                           meta=(numpy.empty((0,) * z.ndim, dtype),) * 2)


def _work_dtype(xp, z):
    """float64 where the library and the array's device have it (JAX: with x64), else float32."""
    device = _compat().device(z)
    try:
        floats = xp.__array_namespace_info__().dtypes(device=device, kind="real floating")
    except (AttributeError, TypeError):  # pragma: no cover - a namespace without the inspection API
        floats = {"float64": xp.float64}
    return floats.get("float64", xp.float32)


def on_array_api(portable, z, nout, params):
    """``portable(w, xp, **params)`` on ``z`` of an array-API library, in that library: computed
    in float64 where it has it and rounded once to ``z``'s floating dtype (other real input
    becomes float64, or the library's float32 without it), as the NumPy kernels do."""
    xp = _compat().array_namespace(z)
    if not xp.isdtype(z.dtype, ("real floating", "integral", "bool")):
        raise TypeError(f"expected real numbers, got an array of dtype {z.dtype}")
    work = _work_dtype(xp, z)
    w = xp.astype(z, work)
    dtype = z.dtype if xp.isdtype(z.dtype, "real floating") else work
    results = portable(w, xp, **params)
    results = results if nout > 1 else (results,)
    out = []
    for r in results:
        if not _compat().is_array_api_obj(r):  # a constant form (relu'' = 0)
            r = xp.full_like(w, r)
        elif tuple(r.shape) != tuple(w.shape):
            r = xp.broadcast_to(r, w.shape)
        out.append(xp.astype(r, dtype, copy=True))
    return tuple(out) if nout > 1 else out[0]


def xp_tanh(xp):
    """tanh for the array-API forms: from expm1 under JAX (XLA's tanh is 6.5 ULP off near
    |x| = 19 in float64; this, 2.5), the library's own elsewhere."""
    if not _compat().is_jax_namespace(xp):
        return xp.tanh

    def tanh(x):
        u = xp.expm1(-2 * xp.abs(x))
        return xp.copysign(-u / (2 + u), x)

    return tanh


def xp_special(xp, name):
    """A special function the array API lacks (erfc), from the library itself: torch.special,
    jax.scipy.special, cupyx.scipy.special; a TypeError naming the library otherwise."""
    compat = _compat()
    if compat.is_torch_namespace(xp):
        import torch

        return getattr(torch.special, name)
    if compat.is_jax_namespace(xp):
        import jax.scipy.special

        return getattr(jax.scipy.special, name)
    if compat.is_cupy_namespace(xp):
        import cupyx.scipy.special

        return getattr(cupyx.scipy.special, name)
    raise TypeError(f"{name} is not in the array API standard, and symderiv does not know where "
                    f"{xp.__name__} keeps it: use NumPy arrays for this kernel")
