"""A row of a CSR matrix times a narrow factor: r at most :data:`LANES`
columns, so that a row of B fits one vector register (float32 with
AVX-512) or two; and, for the masked kernel, the wide path: r from
:data:`WIDE_MIN` to :data:`WIDE`, a row in :data:`WIDE_REGISTERS` such
vectors.

The loops of :mod:`fastnmf._kernels.rows` leave r to LLVM's loop
vectorizer, which does not know it when compiling: at r = 10 it runs a
short vector loop and a scalar remainder for every group of entries, and
stores the output row back to memory after each group. Here, written as
LLVM vector code through Numba intrinsics:

- a row of B is one masked vector load (lanes r and up are neither read nor
  written), and a stored entry one vector multiply-add;
- the row's sums stay in four vector accumulators (one per entry of a group
  of four: independent chains) until they are stored once, at the end;
- the dot products A[i] . B[j] of a group are reduced together
  (:meth:`~fastnmf._kernels.rowcode.RowCode.group_dots`), half as many
  shuffles as four separate reductions;
- rows of B are prefetched as in :func:`~fastnmf._kernels.rows.prefetch_rows`.

Measured against the loops, each kernel alone (synthetic document-term
matrices of ``benchmarks/synthetic.py``, both sides, float32 / float64,
fastest of two runs of the median of 101 calls; 2026-12-07, the Intel
Xeon with AVX-512 of docs/performance.md), 0.5M nonzeros, r = 10, 1 and 2
threads: the product X @ B 1.87-1.99x / 1.41-1.44x faster, the KL
numerator 2.11-2.18x / 1.41-1.75x (1.50-1.65x / 1.16-1.44x with the
objective), the masked kernel 2.16-2.44x / 1.38-1.81x; r = 16 1.63-2.34x /
1.29-1.88x; r = 50, which kept the loops, 0.96-1.09x. The same code in C
with AVX-512 intrinsics (gcc -O3) ran in the same time on one thread. LLVM
lowers the masked loads and stores for whatever processor it compiles for
(two AVX2 instructions each where there is no AVX-512, scalar code on
older processors), so the results do not depend on it.

The wide path keeps one set of sums (the two sums' 2 WIDE_REGISTERS
vectors are independent chains enough, and four sets would not fit the
registers) and prefetches every cache line of a row. The masked kernel
alone against the loops, r = 50, 0.5M and 3M nonzeros, 1 and 2 threads,
both sides (the fastest of two medians of 101 calls; 2026-12-07, the
same machine): float32 1.69-2.28x faster, float64 1.17-1.47x (entries
taken one at a time there, see :func:`_observed_row`). The same algorithm
in C with AVX-512 intrinsics was 2.5-3.5x faster than the loops in C, in
float32 on one thread.

Sums are added in a different order from the loops (four chains, then
(s0 + s1) + (s2 + s3); a dot product's lanes by halves), so the two paths
agree to rounding, not bit for bit. Each row is still computed by one
thread in a fixed order, so neither depends on the number of threads.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .._jit import inlined_kernel
from .rowcode import LANES, generate, spread
from .rows import GROUP

WIDE_REGISTERS = 4  # vectors of LANES lanes per row on the masked kernel's wide path
WIDE = LANES * WIDE_REGISTERS  # the widest r of the wide path
WIDE_MIN = 2 * LANES + 1  # and its narrowest: below it half its vectors would be idle

_I64 = ir.IntType(64)


@inlined_kernel
def is_narrow(B):
    """Whether B has at most LANES columns and contiguous rows, as the narrow
    path needs of the factor it gathers (the other 2-D arrays it reads or
    writes need contiguous rows too: :func:`contiguous_rows`)."""
    return B.shape[1] <= LANES and contiguous_rows(B)


@inlined_kernel
def is_wide(B):
    """Whether B has WIDE_MIN to WIDE columns and contiguous rows: the wide
    path, a row of B in WIDE_REGISTERS vectors. (At r = 20 the wide path
    was 0.66x as fast as the loops in float64, 3M nonzeros, 2 threads.)"""
    return WIDE_MIN <= B.shape[1] <= WIDE and contiguous_rows(B)


@inlined_kernel
def contiguous_rows(X):
    """Whether the entries of each row of the 2-D array X are adjacent."""
    return X.strides[1] == X.itemsize


def _loop(code, entry, count=1, group=None, sets=GROUP):
    """:meth:`~fastnmf._kernels.rowcode.RowCode.row_loop` over the call's
    stored entries start..end-1."""
    start, end, last = code.scalar("start"), code.scalar("end"), code.scalar("last")
    return code.row_loop(start, end, last, code.argument("far"), entry, count, group, sets)


def _gather_group(code, a, p):
    """The rows of B of entries p..p + GROUP - 1 and their dot products with
    ``a`` (kept, with the call's ``with_loss``)."""
    rows = [code.load_row(code.B_row_address(code.builder.add(p, _I64(t)))) for t in range(GROUP)]
    dots = code.group_dots(a, rows)
    with code.builder.if_then(code.argument("with_loss")):
        code.keep_group(p, dots)
    return rows, dots


@intrinsic
def narrow_row_sum(typingctx, indices, data, start, end, B, out, i, accumulate, last, far):
    """out[i, :r] = the sum of data[p] * B[indices[p], :r] over p in
    start..end-1 (out[i] += it with ``accumulate``), for B of r <= LANES
    columns; ``last`` (the chunk's last stored entry) bounds the prefetches,
    made where ``far``. The caller checks :func:`is_narrow` and :func:`contiguous_rows`."""

    def body(code):
        def entry(p, sums):
            (total,) = sums
            return (code.fmuladd(code.splat(code.value(p)), code.load_row(code.B_row_address(p)), total),)

        (total,) = _loop(code, entry)
        code.store("out", total, code.scalar("i"))

    names = ("indices", "data", "start", "end", "B", "out", "i", "accumulate", "last", "far")
    return types.void(indices, data, start, end, B, out, i, accumulate, last, far), generate(names, body, 1)


@intrinsic
def narrow_kl_row(typingctx, indices, data, start, end, A, i, B, eps, out, kept, base, with_loss, accumulate, last,
                  far):  # fmt: skip
    """The Kullback-Leibler numerator's row: out[i, :r] = the sum over p in
    start..end-1 of data[p] / max(ab, eps) * B[j, :r], with ab = A[i] . B[j]
    and j = indices[p] (out[i] += it with ``accumulate``); with
    ``with_loss``, each ab, as float64, in kept[p - base]. Otherwise as
    :func:`narrow_row_sum`."""

    def body(code):
        builder = code.builder
        i = code.scalar("i")
        a = code.load_row(code.row_address("A", i))

        def entry(p, sums):
            (total,) = sums
            b = code.load_row(code.B_row_address(p))
            ab = code.dot(a, b)
            with builder.if_then(code.argument("with_loss")):
                code.keep(p, ab)
            coefficient = builder.fdiv(code.value(p), code.clamp(ab))
            return (code.fmuladd(code.splat(coefficient), b, total),)

        def group(p, sets):
            rows, dots = _gather_group(code, a, p)
            coefficients = builder.fdiv(code.group_values(p), code.clamp_group(dots))
            return spread(sets, lambda t, sums: (code.fmuladd(code.lane(coefficients, t), rows[t], sums[0]),))

        (total,) = _loop(code, entry, group=group)
        code.store("out", total, i)

    names = ("indices", "data", "start", "end", "A", "i", "B", "eps", "out", "kept", "base", "with_loss",
             "accumulate", "last", "far")  # fmt: skip
    signature = types.void(indices, data, start, end, A, i, B, eps, out, kept, base, with_loss, accumulate, last, far)
    return signature, generate(names, body, 1)


def _observed_row(registers, sets):
    """The masked update's row for rows of B in ``registers`` vectors, the
    sums in ``sets`` sets
    (:meth:`~fastnmf._kernels.rowcode.RowCode.row_loop`)."""

    @intrinsic
    def observed_row(typingctx, indices, data, start, end, A, i, B, eps, num, den, kept, base, kl, with_loss,
                     accumulate, last, far, update, l1_weights, l2_weights, tiny):  # fmt: skip
        """The masked update's row with unit weights: num[i, :r] and den[i, :r]
        the sums over p in start..end-1, j = indices[p], ab = A[i] . B[j], of

        - Frobenius: data[p] * B[j] and ab * B[j];
        - Kullback-Leibler (``kl``): data[p] / max(ab, eps) * B[j] and B[j]

        (added to num[i] and den[i] with ``accumulate``). With ``update``,
        num[i] receives instead row i of A after its multiplicative update
        from those totals (penalties ``l1_weights[i]`` and
        ``l2_weights[i]``;
        :meth:`~fastnmf._kernels.rowcode.RowCode.updated`), straight from
        the registers, and den[i] is not written. With ``with_loss`` each ab, as
        float64, in kept[p - base]; otherwise as :func:`narrow_row_sum`."""

        def body(code):
            builder = code.builder
            i = code.scalar("i")
            a = code.load_row(code.row_address("A", i))

            def gathered(p):
                b = code.load_row(code.B_row_address(p))
                ab = code.dot(a, b)
                with builder.if_then(code.argument("with_loss")):
                    code.keep(p, ab)
                return b, ab

            def frobenius(p, sums):
                b, ab = gathered(p)
                return code.fmuladd(code.splat(code.value(p)), b, sums[0]), code.fmuladd(code.splat(ab), b, sums[1])

            def kullback_leibler(p, sums):
                b, ab = gathered(p)
                coefficient = builder.fdiv(code.value(p), code.clamp(ab))
                return code.fmuladd(code.splat(coefficient), b, sums[0]), code.add(sums[1], b)

            def frobenius_group(p, sets):
                rows, dots = _gather_group(code, a, p)

                def update(t, sums):
                    value = code.splat(code.value(builder.add(p, _I64(t))))
                    return code.fmuladd(value, rows[t], sums[0]), code.fmuladd(code.lane(dots, t), rows[t], sums[1])

                return spread(sets, update)

            def kullback_leibler_group(p, sets):
                rows, dots = _gather_group(code, a, p)
                coefficients = builder.fdiv(code.group_values(p), code.clamp_group(dots))

                def update(t, sums):
                    return code.fmuladd(code.lane(coefficients, t), rows[t], sums[0]), code.add(sums[1], rows[t])

                return spread(sets, update)

            # A float64 row of WIDE lanes takes eight 512-bit registers: a
            # group's four rows with A's row and the two sums would spill
            # (slower than the loops at r = 50), so entries go one at a time
            by_groups = registers == 1 or code.itemsize < 8
            # the two loops' sums meet in these slots (registers, once LLVM
            # has run), so that what follows is generated once
            slots = [[cgutils.alloca_once(builder, code.vector) for _ in range(registers)] for _ in range(2)]

            def keep_sums(sums):
                for row, row_slots in zip(sums, slots):
                    for value, slot in zip(row, row_slots):
                        builder.store(value, slot)

            def kept_sums():
                return [tuple(builder.load(slot) for slot in row_slots) for row_slots in slots]

            with builder.if_else(code.argument("kl")) as (then, otherwise):
                with then:
                    group = kullback_leibler_group if by_groups else None
                    keep_sums(_loop(code, kullback_leibler, count=2, group=group, sets=sets))
                with otherwise:
                    group = frobenius_group if by_groups else None
                    keep_sums(_loop(code, frobenius, count=2, group=group, sets=sets))
            with builder.if_else(code.argument("update")) as (updating, summing):
                with updating:
                    with builder.if_then(code.argument("accumulate")):  # the earlier column blocks' sums too
                        keep_sums([code.add(total, code.load_row(code.row_address(name, i)))
                                   for name, total in zip(("num", "den"), kept_sums())])  # fmt: skip
                    code.store_row(code.updated(a, *kept_sums(), i), code.row_address("num", i))
                with summing:
                    num, den = kept_sums()
                    code.store("num", num, i)
                    code.store("den", den, i)

        names = ("indices", "data", "start", "end", "A", "i", "B", "eps", "num", "den", "kept", "base", "kl",
                 "with_loss", "accumulate", "last", "far", "update", "l1_weights", "l2_weights", "tiny")  # fmt: skip
        signature = types.void(
            indices, data, start, end, A, i, B, eps, num, den, kept, base, kl, with_loss, accumulate, last, far,
            update, l1_weights, l2_weights, tiny,
        )
        return signature, generate(names, body, registers)

    return observed_row


narrow_observed_row = _observed_row(1, GROUP)  # r <= LANES
# r in WIDE_MIN..WIDE: a row in WIDE_REGISTERS vectors; the two sums of
# one set are already 2 WIDE_REGISTERS independent chains, and GROUP sets
# would not fit the vector registers
wide_observed_row = _observed_row(WIDE_REGISTERS, 1)
