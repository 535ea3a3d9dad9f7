"""Shared driver of the generated kernels: dtypes, ``out=``, chunks and threads.

Each kernel body computes on one float64 chunk, one ufunc call per operation
into a few scratch buffers that stay allocated (see symderiv.codegen.lower);
chunks are spread over a thread pool (NumPy releases the GIL), and results are
written into the output (float32 in, float32 out; anything else real becomes
float64). A kernel that keeps its accuracy bound in float32 ULP also has a float32
body (``body32``), which computes float32 input in float32 on float32 scratch; the
others widen each float32 chunk to float64 and round the result once.
"""

import fractions
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy

#: Elements per chunk (512 KiB of float64 per buffer). Measured here (2-core EPYC, 1 MiB L2
#: per core, 10^7 elements): 16384 and 32768 pay more per-call overhead, 131072 and up fall
#: out of cache; 65536 was fastest for every kernel tried.
CHUNK = 65536
#: Elements per chunk of a float32 body: as many bytes per buffer as a float64 chunk. With
#: CHUNK, 10^5 float32 elements took two chunks, 1.25x the time of one call on the whole array.
CHUNK32 = 2 * CHUNK
#: Threads for a call of over this many float64 element-passes (elements times the body's
#: ``passes``: its ufunc calls weighted by cost, an exp 4, a division 2, an add 1; a float32 one
#: counts :data:`FLOAT32_PASS`): below, waking a second thread costs more than it gives. Measured
#: here (2-vCPU Xeon, AVX-512), two threads broke even at about 450000 elements for relu_grad
#: (2 passes), 200000 for sigmoid_grad (9), 300000 for leaky_relu's value_and_grad (9, cheap ones
#: only), under 100000 for silu's and mish's. A body with ``threads = False`` (those calling
#: :func:`erfc`, measured slower on two) never uses them.
THREADED_WORK = 1_800_000
#: A float32 element-pass against a float64 one, for :data:`THREADED_WORK`: measured here, float32
#: bodies gained far less from a second thread (sigmoid's value_and_grad broke even at about 10^6
#: elements, mish's at 4*10^5, threshold's not by 10^6), as their chunks take half the time and
#: writing fresh outputs (page faults) does not scale with threads.
FLOAT32_PASS = 1 / 8
WORKERS = max(1, min(8, os.cpu_count() or 1))

_pool = None
_local = threading.local()


def _workspace():
    """This thread's :class:`_Workspace` (CHUNK32 long), kept from call to call: allocating a kernel's
    scratch anew and touching it costs more than the kernel (measured here, mish on 65536
    elements: 1.2 ms of page faults for 7 buffers, against 0.25 ms of computing)."""
    ws = getattr(_local, "ws", None)
    if ws is None:
        ws = _local.ws = _Workspace(CHUNK32)
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


def product_hi(x, y, default=None):
    """The first of two terms whose sum is exactly ``x*y`` (floats x, y): ``fl(x*y)``, or ``h0`` where
    ``default = (x0, y0, h0)`` and ``(x, y) == (x0, y0)``. See :func:`product_lo`."""
    if default is not None and x == default[0] and y == default[1]:
        return default[2]
    return x * y


def product_lo(x, y, default=None):
    """The second term: ``x*y - fl(x*y)``, exact (Dekker's two-product; 0 where the product is 0 or
    not finite). An array plus a product of two parameters is computed as
    ``(a + product_hi(x, y)) + product_lo(x, y)``, which keeps its digits where the sum cancels
    (selu's ``a + alpha*scale`` at ``a = -alpha*scale``: there the rounding of ``alpha*scale`` was
    all that was left).

    ``default`` is ``(x0, y0, l0)``: the floats of the catalogue's defaults, which stand for exact
    numbers that are not floats (SELU's 31-digit alpha and scale); for them the two terms are
    ``h0``, the double nearest the exact product of those numbers, and ``l0``, the rest, rounded.
    """
    if default is not None and x == default[0] and y == default[1]:
        return default[2]
    p = x * y
    if p == 0 or not math.isfinite(p):
        return 0.0
    if not (2.0**-900 < abs(p) and abs(x) < 2.0**995 and abs(y) < 2.0**995):
        # the split below would overflow, or the error is below the normal range: exactly, slowly
        return float(fractions.Fraction(x) * fractions.Fraction(y) - fractions.Fraction(p))
    c = 134217729.0 * x  # Veltkamp's split: 26-bit halves, whose products are exact
    xh = c - (c - x)
    c = 134217729.0 * y
    yh = c - (c - y)
    xl, yl = x - xh, y - yh
    return ((xh * yh - p) + xh * yl + xl * yh) + xl * yl


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
        self._views = {}
        self._sub = None

    def sub(self):
        """A second workspace of the same capacity, for :func:`patch` (the first one is in use)."""
        if self._sub is None:
            self._sub = _Workspace(self.capacity)
        return self._sub

    def _get(self, kind, n, dtype):
        key = (kind, dtype)
        size, views = self._views.get(key, (None, ()))
        if size == self.size and len(views) >= n:
            return views[:n]  # the views of the last call of this size: slicing anew costs more
        pool = self._pools.setdefault(key, [])
        while len(pool) < n:
            pool.append(numpy.empty(self.capacity, dtype))
        views = pool[:n] if self.size == self.capacity else [p[:self.size] for p in pool[:n]]
        self._views[key] = (self.size, views)
        return views

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


def _one_chunk(body, z, nout, params, dtype):
    """:func:`apply` for an ndarray of one chunk (CHUNK elements, CHUNK32 for a float32 body), in its
    own float type (float64, or float32 with a float32 body), and no ``out``: the body writes straight into fresh outputs (a
    strided 1-d input is read as it is: the ufuncs take strides). Every view made here costs a
    tenth of a microsecond, on calls of a few."""
    ws = _workspace()
    ws.size = z.size
    if z.ndim == 1:
        if nout == 1:
            o = numpy.empty(z.size, dtype)
            with numpy.errstate(all="ignore"):
                body(z, [o], ws, **params)
            return o
        block = numpy.empty((2, z.size), dtype)  # one block, as in _outputs
        v, d = block[0], block[1]
        with numpy.errstate(all="ignore"):
            body(z, [v, d], ws, **params)
        return v, d
    flat = z.reshape(-1)  # a view, or a contiguous copy
    block = numpy.empty((nout, *z.shape), dtype)
    with numpy.errstate(all="ignore"):
        body(flat, [block[k].reshape(-1) for k in range(nout)], ws, **params)
    return block[0] if nout == 1 else (block[0], block[1])


def _one_chunk_widened(body, z, nout, params):
    """:func:`_one_chunk` for float32 input of a kernel without a float32 body: the chunk widened to
    float64, computed into float64 scratch, each result rounded once into a fresh float32 output
    (as :func:`apply` does, in half the time at 1000 elements)."""
    ws = _workspace()
    ws.size = z.size
    w = z.astype(numpy.float64, order="C").reshape(-1)
    results = ws.outputs(nout)
    with numpy.errstate(all="ignore"):
        body(w, results, ws, **params)
    block = numpy.empty((nout, *z.shape), numpy.float32)
    for k in range(nout):
        block[k].reshape(-1)[...] = results[k]
    return block[0] if nout == 1 else (block[0], block[1])


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
    if out is None and type(z) is numpy.ndarray and 0 < z.size <= CHUNK32 and z.ndim:
        # the common small call (a training step's 10^3..10^4 elements): one chunk, in this
        # thread, fresh outputs; the same body and results as below, without the bookkeeping
        dtype = z.dtype
        if dtype == numpy.float64 and z.size <= CHUNK:
            return _one_chunk(body, z, nout, params, dtype)
        if dtype == numpy.float32:
            if body32 is not None:
                return _one_chunk(body32, z, nout, params, dtype)
            if z.size <= CHUNK:
                return _one_chunk_widened(body, z, nout, params)
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
    chunk = CHUNK if work_dtype.itemsize == 8 else CHUNK32

    def work(lo, hi):
        ws = _workspace()
        with numpy.errstate(all="ignore"):
            for s in range(lo, hi, chunk):
                e = min(s + chunk, hi)
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

    passes = n * getattr(body, "passes", 4) * (1 if work_dtype.itemsize == 8 else FLOAT32_PASS)
    if passes <= THREADED_WORK or WORKERS == 1 or not getattr(body, "threads", True):
        work(0, n)
    else:
        # equal shares (whole cache lines), the last one computed by this thread meanwhile: the
        # slowest share sets the time (10^5 elements cut at CHUNK were 65536 + 34464)
        shares = min(WORKERS, -(-n // 4096))
        step = -(-n // (shares * 8)) * 8
        futures = [_executor().submit(work, lo, min(lo + step, n)) for lo in range(step, n, step)]
        work(0, min(step, n))
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
    return lambda x: expm1_tanh(xp, x)


def expm1_tanh(xp, x):
    """tanh(x) in the array namespace ``xp`` from expm1 (XLA's own tanh is 6.5 ULP off near |x| = 19
    in float64; this, 2.5), and x itself where tanh(x) rounds to x (|x| below 2^-12 in float32,
    2^-27 in float64): XLA on the CPU flushes a subnormal 2|x| to 0, which gave tanh(1e-40) = 0
    in float32. The JAX drop-ins' tanh too."""
    u = xp.expm1(-2 * xp.abs(x))
    tiny = 2.0**-12 if x.dtype == xp.float32 else 2.0**-27
    return xp.where(xp.abs(x) < tiny, x, xp.copysign(-u / (2 + u), x))


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


# ---------------------------------------------------------------- erfc

# erfc(x) for float64 arrays from NumPy ufuncs alone: the algorithm and coefficients of Sun's
# fdlibm s_erf.c (FreeBSD lib/msun/src/s_erf.c, "Copyright (C) 1993 by Sun Microsystems, Inc.
# Developed at SunPro, a Sun Microsystems, Inc. business. Permission to use, copy, modify, and
# distribute this software is freely granted, provided that this notice is preserved."), whose
# error bound is below 1 ULP. Coefficients low order first, Q and S with their leading 1.
#: erf(x) = x + x*PP/QQ (z = x^2) on |x| < 0.84375.
_ERFC_PP = (1.28379167095512558561e-01, -3.25042107247001499370e-01, -2.84817495755985104766e-02,
            -5.77027029648944159157e-03, -2.37630166566501626084e-05)
_ERFC_QQ = (1.0, 3.97917223959155352819e-01, 6.50222499887672944485e-02, 5.08130628187576562776e-03,
            1.32494738004321644526e-04, -3.96022827877536812320e-06)
#: erf(1 + s) = erx + PA/QA (s = |x| - 1) on 0.84375 <= |x| < 1.25; erx = (float)0.84506291151.
_ERFC_ERX = 8.45062911510467529297e-01
_ERFC_PA = (-2.36211856075265944077e-03, 4.14856118683748331666e-01, -3.72207876035701323847e-01,
            3.18346619901161753674e-01, -1.10894694282396677476e-01, 3.54783043256182359371e-02,
            -2.16637559486879084300e-03)
_ERFC_QA = (1.0, 1.06420880400844228286e-01, 5.40397917702171048937e-01, 7.18286544141962662868e-02,
            1.26171219808761642112e-01, 1.36370839120290507362e-02, 1.19844998467991074170e-02)
#: erfc(x) = exp(-x^2 - 0.5625 + RA/SA)/x (s = 1/x^2) on 1.25 <= |x| < 1/0.35.
_ERFC_RA = (-9.86494403484714822705e-03, -6.93858572707181764372e-01, -1.05586262253232909814e+01,
            -6.23753324503260060396e+01, -1.62396669462573470355e+02, -1.84605092906711035994e+02,
            -8.12874355063065934246e+01, -9.81432934416914548592e+00)
_ERFC_SA = (1.0, 1.96512716674392571292e+01, 1.37657754143519042600e+02, 4.34565877475229228821e+02,
            6.45387271733267880336e+02, 4.29008140027567833386e+02, 1.08635005541779435134e+02,
            6.57024977031928170135e+00, -6.04244152148580987438e-02)
#: The same with RB/SB on 1/0.35 <= |x| < 28.
_ERFC_RB = (-9.86494292470009928597e-03, -7.99283237680523006574e-01, -1.77579549177547519889e+01,
            -1.60636384855821916062e+02, -6.37566443368389627722e+02, -1.02509513161107724954e+03,
            -4.83519191608651397019e+02)
_ERFC_SB = (1.0, 3.03380607434824582924e+01, 3.25792512996573918826e+02, 1.53672958608443695994e+03,
            3.19985821950859553908e+03, 2.55305040643316442583e+03, 4.74528541206955367215e+02,
            -2.24409524465858183362e+01)
#: The ranges' upper bounds on |x| (fdlibm's tests on the high word: 0x3feb0000, 0x3ff40000,
#: 0x4006DB6D); beyond the last, up to 28 (x > -6: erfc is 2 below), the RB/SB range.
_ERFC_BOUNDS = (0.84375, 1.25, 2.8571414947509766)
#: z*z is exact for z = |x| with the low 32 bits of its float64 cleared (21 significant bits).
_HIGH_WORD = -(1 << 32)


def _poly(s, coeffs, out):
    """sum coeffs[k] s^k into ``out`` in Horner's order (as fdlibm's C), one ufunc per operation."""
    numpy.multiply(s, coeffs[-1], out=out)
    numpy.add(out, coeffs[-2], out=out)
    for c in coeffs[-3::-1]:
        numpy.multiply(out, s, out=out)
        numpy.add(out, c, out=out)
    return out


def _erfc_small(x, res, t, z=None):
    """erfc on |x| < 0.84375: 1 - (x + x*y) below 1/4, 0.5 - ((x - 0.5) + x*y) from 1/4 on."""
    z, p, q = t[:3]
    numpy.multiply(x, x, out=z)
    numpy.divide(_poly(z, _ERFC_PP, p), _poly(z, _ERFC_QQ, q), out=p)
    numpy.multiply(x, p, out=p)
    numpy.greater_equal(x, 0.25, out=q)
    numpy.multiply(q, 0.5, out=q)  # c = 0 or 0.5: (1 - c) - ((x - c) + x*y), both exact shifts
    numpy.subtract(x, q, out=z)
    numpy.add(z, p, out=z)
    numpy.subtract(1.0, q, out=q)
    numpy.subtract(q, z, out=res)


def _erfc_near1(x, res, t, z=None):
    """erfc on 0.84375 <= |x| < 1.25: (1 - erx) - P/Q for x > 0, (1 + erx) + P/Q for x < 0, as
    (1 - sx erx) - sx P/Q with sx = +-1 (1 +- erx is exact: erx has 24 significant bits)."""
    s, p, q = t[:3]
    numpy.absolute(x, out=s)
    numpy.subtract(s, 1.0, out=s)
    numpy.divide(_poly(s, _ERFC_PA, p), _poly(s, _ERFC_QA, q), out=p)
    numpy.copysign(1.0, x, out=s)
    numpy.multiply(p, s, out=q)
    numpy.multiply(s, _ERFC_ERX, out=s)
    numpy.subtract(1.0, s, out=s)
    numpy.subtract(s, q, out=res)


def _erfc_tail(x, res, t, r_coeffs, s_coeffs, z=None):
    """erfc on 1.25 <= |x| < 28: exp(-y*y - 0.5625) exp((y - |x|)(y + |x|) + R/S)/|x|, y = |x| to
    21 bits (so that y*y is exact and exp(-x^2) keeps its precision), and 2 minus it for x < 0.
    With ``z`` (x = +-z/sqrt(2) rounded), x^2 is z^2/2 there, from y = |z| to 21 bits."""
    ax, s, p, q = t[:4]
    numpy.absolute(x, out=ax)
    numpy.multiply(ax, ax, out=s)
    numpy.divide(1.0, s, out=s)
    numpy.divide(_poly(s, r_coeffs, p), _poly(s, s_coeffs, q), out=p)  # R/S
    y, w = q, ax
    if z is not None:
        w = res
        numpy.absolute(z, out=w)
    numpy.bitwise_and(w.view(numpy.int64), _HIGH_WORD, out=y.view(numpy.int64))
    numpy.subtract(y, w, out=s)
    numpy.add(y, w, out=res)
    numpy.multiply(s, res, out=s)
    numpy.multiply(y, y, out=res)
    if z is not None:  # -x^2 = -y^2/2 + (y - |z|)(y + |z|)/2, the halvings exact
        numpy.multiply(s, 0.5, out=s)
        numpy.multiply(res, 0.5, out=res)
    numpy.add(s, p, out=s)
    numpy.subtract(-0.5625, res, out=p)
    numpy.exp(p, out=p)
    numpy.exp(s, out=s)
    numpy.multiply(p, s, out=p)
    numpy.divide(p, ax, out=p)
    numpy.copysign(1.0, x, out=s)
    numpy.subtract(1.0, s, out=s)  # 0 for x > 0, 2 for x < 0
    numpy.copysign(p, x, out=res)
    numpy.add(res, s, out=res)  # r + 0 for x > 0, -r + 2 = 2 - r for x < 0


def _erfc_tail_a(x, res, t, z=None):
    _erfc_tail(x, res, t, _ERFC_RA, _ERFC_SA, z)


def _erfc_tail_b(x, res, t, z=None):
    _erfc_tail(x, res, t, _ERFC_RB, _ERFC_SB, z)


#: Elements :func:`erfc` computes at a time: its ~10 scratch arrays then stay closer to the core
#: than a kernel's CHUNK would (measured here, 2^16 elements: 8192 17-45 ns per element, 32768
#: 12-35, 65536 17-36; per-call overhead grows below).
ERFC_BLOCK = 32768


def _erfc_workspace():
    """This thread's scratch for :func:`erfc` (apart from the kernels', which call it)."""
    ws = getattr(_local, "erfc_ws", None)
    if ws is None:
        ws = _local.erfc_ws = _Workspace(ERFC_BLOCK)
    return ws


def _erfc_range(fn, x, out, mask, k, ws, z):
    """``out = fn(x)`` where ``mask`` (``k`` entries): computed on the whole chunk and selected
    where most entries need it, else on those gathered (as :func:`patch` chooses)."""
    n = x.size
    t = ws.floats(6)
    if k == n:
        fn(x, out, t, z)
    elif 4 * k > 3 * n:
        res = ws.outputs(2)[1]
        fn(x, res, t, z)
        bits, new = out.view(numpy.int64), res.view(numpy.int64)  # out = res where mask, bit for bit
        numpy.bitwise_xor(new, bits, out=new)
        numpy.multiply(new, mask, out=new)
        numpy.bitwise_xor(bits, new, out=bits)
    else:
        idx = numpy.flatnonzero(mask)
        xin, res = (a[:k] for a in ws.outputs(2))
        numpy.take(x, idx, out=xin)
        zin = None
        if z is not None and fn in (_erfc_tail_a, _erfc_tail_b):
            zin = numpy.take(z, idx, out=t[5][:k])
        fn(xin, res, [a[:k] for a in t[:5]], zin)
        out[idx] = res


def _erfc_chunk(x, out, ws, z=None):
    n = x.size
    ws.size = n
    if numpy.may_share_memory(x, out):  # in place: read from a copy
        copy = ws.outputs(3)[2]
        numpy.copyto(copy, x)
        x = copy
    if z is not None and numpy.may_share_memory(z, out):
        copy = ws.outputs(4)[3]
        numpy.copyto(copy, z)
        z = copy
    ax = ws.floats(1)[0]  # free again once the masks are made
    m0, m1, m2, m3, tmp = ws.bools(5)
    numpy.absolute(x, out=ax)
    numpy.less(ax, _ERFC_BOUNDS[0], out=m0)
    numpy.less(ax, _ERFC_BOUNDS[1], out=m1)
    numpy.less(ax, _ERFC_BOUNDS[2], out=m2)
    numpy.less(x, 28.0, out=m3)
    numpy.greater(x, -6.0, out=tmp)
    numpy.logical_and(m3, tmp, out=m3)
    c0, c1, c2, c3 = (int(numpy.count_nonzero(m)) for m in (m0, m1, m2, m3))
    if c3 < n:  # x >= 28 (and inf): 0; x <= -6 (and -inf): 2; NaN: NaN
        numpy.signbit(x, out=tmp)
        numpy.multiply(tmp, 2.0, out=out)
        if numpy.isnan(x.sum()):
            out[numpy.isnan(x)] = numpy.nan
    numpy.logical_xor(m3, m2, out=m3)
    numpy.logical_xor(m2, m1, out=m2)
    numpy.logical_xor(m1, m0, out=m1)
    for fn, mask, k in ((_erfc_small, m0, c0), (_erfc_near1, m1, c1 - c0), (_erfc_tail_a, m2, c2 - c1),
                        (_erfc_tail_b, m3, c3 - c2)):
        if k:
            _erfc_range(fn, x, out, mask, k, ws, z)


def erfc(x, z=None, out=None):
    """The complementary error function of a float64 array, elementwise, into ``out`` (which may
    be ``x``; a float32 one gets the float64 result rounded once); within 1 ULP where it is
    normal (tests/test_erfc.py measures it against mpmath).

    fdlibm's erfc (Sun, s_erf.c, as in FreeBSD's libm), each operation one NumPy ufunc over a
    chunk: rational approximations on |x| < 0.84375, < 1.25, < 1/0.35 and < 28, the two last
    as exp(-x^2 - 0.5625 + R/S)/x with exp(-x^2) split so that it keeps its precision; each
    range is evaluated on the entries in it only (gathered), or on the whole chunk where most are.
    Below 2^-1022 (x > 26.54) the result is subnormal, so its relative error grows; from x = 28
    on it is 0.

    ``z``, if given, is an array with x = +-z/sqrt(2) rounded (the normal CDF's erfc(-z/sqrt(2))):
    exp(-x^2) is then exp(-z^2/2), computed from z exactly, where the rounding of x would change
    it by up to 2x^2 ULP (1400 at x = 26).
    """
    x = numpy.asarray(x, dtype=numpy.float64)
    if out is None:
        out = numpy.empty_like(x)
    flat = x.reshape(-1)
    zflat = None if z is None else numpy.broadcast_to(numpy.asarray(z, numpy.float64), x.shape).reshape(-1)
    direct = out.flags.c_contiguous and out.dtype == numpy.float64  # its blends view int64 bits
    target = out.reshape(-1) if direct else numpy.empty(out.size)
    ws = _erfc_workspace()
    with numpy.errstate(all="ignore"):
        for s in range(0, flat.size, ERFC_BLOCK):
            e = s + ERFC_BLOCK
            _erfc_chunk(flat[s:e], target[s:e], ws, None if zflat is None else zflat[s:e])
    if not direct:  # strided, or another float type: the float64 result rounded once
        out[...] = target.reshape(out.shape)
    return out
