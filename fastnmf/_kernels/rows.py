"""Row helpers shared by the kernels that sum scaled rows of a factor B into
a row of an output, or take dot products of a row of A with rows of B.

They are inlined by Numba (``inlined_kernel``) into the kernels that call
them: left as calls, a call per group of entries costs more than the grouping
saves (see :mod:`fastnmf._kernels.csr` for why rows are taken four at a
time).
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .._jit import inlined_kernel

GROUP = 4  # stored entries whose rows of B are summed before out[i] is updated
PREFETCH_AHEAD = 8  # stored entries between the group being summed and the one whose rows are prefetched
PREFETCH_MIN_BYTES = 256 << 10  # a smaller B is gathered without prefetching


@inlined_kernel
def add_row(out, i, B, j, c):
    """out[i] += c * B[j]."""
    for k in range(B.shape[1]):
        out[i, k] += c * B[j, k]


@inlined_kernel
def add_four_rows(out, i, B, j0, j1, j2, j3, c0, c1, c2, c3):
    """out[i] += c0 B[j0] + c1 B[j1] + c2 B[j2] + c3 B[j3], with one load and
    one store of out[i, k] per k."""
    for k in range(B.shape[1]):
        out[i, k] += (c0 * B[j0, k] + c1 * B[j1, k]) + (c2 * B[j2, k] + c3 * B[j3, k])


@inlined_kernel
def row_dot(A, i, B, j, zero):
    """A[i] . B[j], accumulated in the dtype of ``zero``."""
    s = zero
    for k in range(A.shape[1]):
        s += A[i, k] * B[j, k]
    return s


@inlined_kernel
def four_dots(A, i, B, j0, j1, j2, j3, zero):
    """A[i] . B[j0], ..., A[i] . B[j3] in one pass over A[i]."""
    s0 = s1 = s2 = s3 = zero
    for k in range(A.shape[1]):
        a = A[i, k]
        s0 += a * B[j0, k]
        s1 += a * B[j1, k]
        s2 += a * B[j2, k]
        s3 += a * B[j3, k]
    return s0, s1, s2, s3


@inlined_kernel
def add_four_rows_next_dots(out, i, B, j0, j1, j2, j3, c0, c1, c2, c3, A, n0, n1, n2, n3, zero):
    """add_four_rows for one group of entries, and in the same pass the dot
    products four_dots(A, i, B, n0, n1, n2, n3, zero) of the next group.

    The two are independent, so the processor overlaps the next group's dot
    products (loads of its rows of B, multiply-adds) with this group's sum,
    instead of waiting, group after group, for the dot products, their
    reduction and the coefficients computed from them before the sum can
    start; and the loop over k runs once instead of twice."""
    s0 = s1 = s2 = s3 = zero
    for k in range(B.shape[1]):
        a = A[i, k]
        out[i, k] += (c0 * B[j0, k] + c1 * B[j1, k]) + (c2 * B[j2, k] + c3 * B[j3, k])
        s0 += a * B[n0, k]
        s1 += a * B[n1, k]
        s2 += a * B[n2, k]
        s3 += a * B[n3, k]
    return s0, s1, s2, s3


@inlined_kernel
def zero_row(out, i):
    for k in range(out.shape[1]):
        out[i, k] = 0


@inlined_kernel
def group_end(start, end):
    """Where the groups of four of the entries start..end-1 end."""
    return start + (end - start) // GROUP * GROUP


@inlined_kernel
def add_four_rows_twice(num, den, i, B, j0, j1, j2, j3, n0, n1, n2, n3, d0, d1, d2, d3):
    """add_four_rows for ``num`` and ``den`` in one pass over the rows of B."""
    for k in range(B.shape[1]):
        b0, b1, b2, b3 = B[j0, k], B[j1, k], B[j2, k], B[j3, k]
        num[i, k] += (n0 * b0 + n1 * b1) + (n2 * b2 + n3 * b3)
        den[i, k] += (d0 * b0 + d1 * b1) + (d2 * b2 + d3 * b3)


@intrinsic
def _prefetch(typingctx, array, i, k):
    """Ask the processor to start loading the cache line of ``array[i, k]``
    (LLVM's ``llvm.prefetch``: a hint, which never faults and changes no
    value; where the processor has no such instruction it is dropped)."""

    def codegen(context, builder, signature, args):
        array_type, i_type, k_type = signature.args
        array_value, i_value, k_value = args
        index = [context.cast(builder, i_value, i_type, types.intp), context.cast(builder, k_value, k_type, types.intp)]
        array_struct = context.make_array(array_type)(context, builder, array_value)
        pointer = cgutils.get_item_pointer(context, builder, array_type, array_struct, index, wraparound=False)
        byte_pointer = ir.IntType(8).as_pointer()
        int32 = ir.IntType(32)
        prefetch = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer, int32, int32, int32]), "llvm.prefetch.p0i8"
        )
        # a read (0), to be kept in every level of cache (3), of data (1)
        builder.call(prefetch, [builder.bitcast(pointer, byte_pointer), int32(0), int32(3), int32(1)])
        return context.get_dummy_value()

    return types.void(array, i, k), codegen


@inlined_kernel
def far_rows(B):
    """Whether the rows of B that a CSR kernel gathers are worth prefetching:
    B is at least PREFETCH_MIN_BYTES, too large to stay in a core's L2 cache
    once other data passes through."""
    return B.shape[0] * B.shape[1] * B.itemsize >= PREFETCH_MIN_BYTES


@inlined_kernel
def prefetch_rows(B, indices, p, last):
    """Prefetch the first and last cache line of each row of B that the
    stored entries p + PREFETCH_AHEAD ... + GROUP - 1 will gather (entries
    past ``last``, the last of the chunk, are taken as ``last``).

    The gathered rows are in random order, so no hardware prefetcher sees
    them coming; asked for two groups ahead, they are on their way while
    the current group is summed. At r = 10 a float32 row straddles two
    cache lines every other time, hence both ends."""
    q = p + PREFETCH_AHEAD
    end = B.shape[1] - 1
    for t in range(GROUP):
        j = indices[min(q + t, last)]
        _prefetch(B, j, 0)
        _prefetch(B, j, end)
