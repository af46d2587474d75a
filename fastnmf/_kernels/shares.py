"""How a parallel kernel that runs block kernels splits its work: one share
of consecutive chunks per thread, each share one call of the block kernel.

A block kernel (:func:`fastnmf._jit.block_kernel`) takes a reference on each
array argument when it is called and drops it when it returns, an atomic
update of a count that every thread shares. The masked CSR kernel has about
250 chunks a call on the 0.5M matrix; called once per chunk, its body made
the kernel 3-10% slower on 2 threads than the loop inside ``prange``, and
once per thread 0-3% (minima of 101, float32 and float64, r = 10). Numba's ``prange`` gives each
thread an equal run of consecutive iterations, so the shares are the
thread's iterations as before; and since each chunk is computed the same
way whoever computes it, the results still do not depend on the number of
threads.
"""

import numba

from .._jit import inlined_kernel


def thread_shares(n):
    """The number of shares of n chunks: one per thread, at most n. Asked
    here, in Python, and passed to the kernel: a kernel that asks Numba for
    its number of threads cannot be cached."""
    return min(numba.get_num_threads(), n)


@inlined_kernel
def share(n, s, shares):
    """The chunks first..last-1 of share s of n chunks."""
    return s * n // shares, (s + 1) * n // shares
