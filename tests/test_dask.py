"""The NumPy kernels on Dask arrays: lazy, block by block, bit for bit the NumPy kernels; on a
``distributed`` LocalCluster (2 worker processes) with 10^8 float64 elements that never reach
the client, each block's result compared with the NumPy kernel on the same input recomputed
independently inside the comparing task."""

from __future__ import annotations

import numpy as np
import pytest

from symderiv import kernels

# one worker computes this module's expensive module-scoped fixture (--dist loadgroup),
# not both
pytestmark = pytest.mark.xdist_group("dask")

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

BIG, CHUNK = 10**8, 2_500_000


def _inputs(lo: int, hi: int, xp=np, **chunks):
    """Element i of the test input: its index scrambled by a multiplicative hash (integer
    operations, so NumPy and Dask give the same bits, and cheaply) and spread over [-60, 60)."""
    i = xp.arange(lo, hi, dtype=np.uint64, **chunks)
    u = (i * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)  # 24 bits
    return u.astype(np.float64) * (120.0 / 2**24) - 60.0


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  memory_limit="1.5GiB") as cluster, distributed.Client(cluster) as c:
        yield c


def test_a_dask_array_gives_a_lazy_dask_array_bit_for_bit_the_numpy_kernel(client):
    n = 10**6
    x = _inputs(0, n, da, chunks=99_991)  # uneven last block
    x = da.concatenate([x, da.from_array(np.array([-np.inf, np.nan, -0.0, 0.0, 1e300, np.inf]))])
    xn = np.concatenate([_inputs(0, n), [-np.inf, np.nan, -0.0, 0.0, 1e300, np.inf]])
    for fn in (kernels.gelu_grad, kernels.leaky_relu, kernels.tanhshrink_grad2):
        y = fn(x)
        assert isinstance(y, da.Array) and y.chunks == x.chunks and y.dtype == np.float64
        assert fn(xn).tobytes() == y.compute().tobytes(), fn.__name__
    v, g = kernels.mish_value_and_grad(x)
    assert isinstance(v, da.Array) and isinstance(g, da.Array)
    rv, rg = kernels.mish_value_and_grad(xn)
    got_v, got_g = client.compute([v, g], sync=True)
    assert got_v.tobytes() == rv.tobytes() and got_g.tobytes() == rg.tobytes()
    # dtypes as the NumPy kernels: float32 stays, integers become float64; parameters pass through
    xi = da.arange(-5, 5, chunks=3)
    assert kernels.leaky_relu(xi, alpha=0.5).dtype == np.float64
    np.testing.assert_array_equal(kernels.leaky_relu(xi, alpha=0.5).compute(),
                                  kernels.leaky_relu(np.arange(-5, 5), alpha=0.5))
    assert kernels.sigmoid(x.astype(np.float32)).compute().dtype == np.float32
    with pytest.raises(TypeError, match="out= is for NumPy arrays"):
        kernels.sigmoid(x, out=np.empty(n))


def _mismatches(v, g, block_info=None):
    """Entries of one block of (g, g') that differ, as bits, from the NumPy kernel on the
    block's input recomputed here from the element indices."""
    lo, hi = block_info[0]["array-location"][0]
    rv, rg = kernels.mish_value_and_grad(_inputs(lo, hi))
    n = np.count_nonzero(v.view(np.int64) != rv.view(np.int64)) + np.count_nonzero(g.view(np.int64) != rg.view(np.int64))
    return np.array([n + (v.shape != rv.shape)])


def _peak_rss_mib():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.slow
def test_1e8_elements_on_a_local_cluster_without_reaching_the_client(client):
    x = _inputs(0, BIG, da, chunks=CHUNK)
    v, g = kernels.mish_value_and_grad(x)
    counts = da.map_blocks(_mismatches, v, g, chunks=((1,) * x.numblocks[0],), dtype=np.int64)
    total = counts.sum().compute()
    assert counts.shape == (BIG // CHUNK,) and total == 0
    peaks = client.run(_peak_rss_mib)
    assert all(p < 1536 for p in peaks.values()), peaks  # each worker held a few blocks, not the array
