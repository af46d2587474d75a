"""The LLVM vector code of :mod:`fastnmf._kernels.narrow`: :class:`RowCode`
writes, for one call of an intrinsic, a row of a CSR matrix times a narrow
factor B with each row of B held in vectors of :data:`LANES` lanes (lanes r
and up masked: neither read nor written). The intrinsics in
:mod:`fastnmf._kernels.narrow` say what to compute for each stored entry;
this module how a row's loads, sums, dot products, prefetches and stores
are written, and the loop over a row's entries in groups of
:data:`~fastnmf._kernels.rows.GROUP`.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils

from .._jit import FASTMATH
from .rows import GROUP, PREFETCH_AHEAD

LANES = 16  # lanes of a vector: a float32 row of up to 16 entries is one 512-bit register
assert GROUP == 4  # the accumulators and group_dots take a group's entries in pairs of pairs

_I32, _I64 = ir.IntType(32), ir.IntType(64)
_BYTE_POINTER = ir.IntType(8).as_pointer()
_LINE = 64  # bytes in a cache line
_REDUCE_FLAGS = ("reassoc", "nsz")  # a dot product's lanes added in any order, as the loops' fastmath allows


def halvings(n):
    """n / 2, n / 4, ..., 1."""
    step = n // 2
    while step >= 1:
        yield step
        step //= 2


class RowCode:
    """What the generated code of one call needs: the vector type, the lane
    masks, and pointers into the arrays.

    A row (of B, of A, of a sum) is a tuple of ``registers`` vectors of
    LANES lanes: lanes 0..LANES-1 of the row, then LANES..2 LANES-1, and so
    on; lanes r and up are zero, and neither read nor written."""

    def __init__(self, context, builder, signature, args, names, registers):
        self.builder = builder
        self.registers = registers
        self.values = {}
        for name, array_type, value in zip(names, signature.args, args):
            if isinstance(array_type, types.Array):
                self.values[name] = (array_type, context.make_array(array_type)(context, builder, value))
            else:
                self.values[name] = (array_type, value)
        self.context = context
        B_type, B = self.values["B"]
        self.element = context.get_value_type(B_type.dtype)
        # bytes per entry, and the alignment the loads assume (NumPy's for an array of this dtype)
        self.itemsize = B_type.dtype.bitwidth // 8
        self.vector = ir.VectorType(self.element, LANES)
        B_shape = cgutils.unpack_tuple(builder, B.shape)
        self.r = B_shape[1]
        self.B_base = builder.ptrtoint(B.data, _I64)
        self.B_row_bytes = cgutils.unpack_tuple(builder, B.strides)[0]
        r = self.splat(self.r)
        self.masks = []
        for v in range(registers):
            lanes = ir.Constant(ir.VectorType(_I64, LANES), list(range(v * LANES, (v + 1) * LANES)))
            self.masks.append(builder.icmp_unsigned("<", lanes, r))
        self.zero = ir.Constant(self.vector, None)
        self.zero_row = (self.zero,) * registers
        # where prefetch_group touches a row of B: its first and last byte, and
        # on the wide path every 64th byte between them (docs/kernel_log.md,
        # "The masked kernel's wide path"); the narrow path keeps the two
        # prefetches it was measured with
        row_end = builder.mul(builder.sub(self.r, _I64(1)), _I64(self.itemsize))
        wide_row_bytes = registers * LANES * self.itemsize if registers > 1 else 0
        lines = [_I64(k) for k in range(_LINE, wide_row_bytes - 1, _LINE)]
        lines = [builder.select(builder.icmp_signed("<", k, row_end), k, row_end) for k in lines]
        self.prefetch_offsets = (_I64(0), *lines, row_end)

    def scalar(self, name, to=types.int64):
        kind, value = self.values[name]
        return self.context.cast(self.builder, value, kind, to)

    def argument(self, name):
        """The argument ``name``: its value (a bool, a scalar), or an array's structure."""
        return self.values[name][1]

    def splat(self, scalar):
        vector_type = ir.VectorType(scalar.type, LANES)
        undefined = ir.Constant(vector_type, ir.Undefined)
        single = self.builder.insert_element(undefined, scalar, _I32(0))
        return self.builder.shuffle_vector(single, undefined, ir.Constant(ir.VectorType(_I32, LANES), [0] * LANES))

    def _function(self, name, return_type, argument_types):
        return cgutils.get_or_insert_function(self.builder.module, ir.FunctionType(return_type, argument_types), name)

    def _suffix(self):
        return f"v{LANES}f{self.itemsize * 8}"

    def _vector_pointers(self, row_address):
        """Pointers to the vectors of the row at byte address ``row_address``
        (an int64), with their lane masks."""
        pointer_type = self.vector.as_pointer()
        for v, mask in enumerate(self.masks):
            address = self.builder.add(row_address, _I64(v * LANES * self.itemsize)) if v else row_address
            yield self.builder.inttoptr(address, pointer_type), mask

    def load_row(self, row_address):
        """The first r entries of the row at byte address ``row_address``, the
        other lanes zero."""
        load = self._function(
            f"llvm.masked.load.{self._suffix()}.p0",
            self.vector,
            [self.vector.as_pointer(), _I32, self.masks[0].type, self.vector],
        )
        return tuple(
            self.builder.call(load, [pointer, _I32(self.itemsize), mask, self.zero])
            for pointer, mask in self._vector_pointers(row_address)
        )

    def store_row(self, row, row_address):
        store = self._function(
            f"llvm.masked.store.{self._suffix()}.p0",
            ir.VoidType(),
            [self.vector, self.vector.as_pointer(), _I32, self.masks[0].type],
        )
        for value, (pointer, mask) in zip(row, self._vector_pointers(row_address)):
            self.builder.call(store, [value, pointer, _I32(self.itemsize), mask])

    def row_address(self, name, i):
        """The byte address of row ``i`` (int64) of the 2-D array ``name``."""
        array = self.argument(name)
        row_bytes = cgutils.unpack_tuple(self.builder, array.strides)[0]
        return self.builder.add(self.builder.ptrtoint(array.data, _I64), self.builder.mul(i, row_bytes))

    def column(self, p):
        """indices[p] as an int64."""
        j = self.builder.load(self.builder.gep(self.argument("indices").data, [p]))
        return self.builder.sext(j, _I64) if j.type.width < 64 else j

    def value(self, p):
        return self.builder.load(self.builder.gep(self.argument("data").data, [p]))

    def B_row_address(self, p):
        return self.builder.add(self.B_base, self.builder.mul(self.column(p), self.B_row_bytes))

    def _fmuladd(self, a, b, c):
        function = self._function(f"llvm.fmuladd.{self._suffix()}", self.vector, [self.vector] * 3)
        return self.builder.call(function, [a, b, c])

    def fmuladd(self, c, row, total):
        """total + c * row, for a row ``total`` and a vector ``c`` (the same
        value in every lane)."""
        return tuple(self._fmuladd(c, b, t) for b, t in zip(row, total))

    def add(self, x, y):
        return tuple(self.builder.fadd(a, b) for a, b in zip(x, y))

    def _products(self, a, b):
        """a * b, the row's vectors added together: one vector whose lanes sum
        to a . b."""
        product = self.builder.fmul(a[0], b[0], flags=_REDUCE_FLAGS)
        for x, y in zip(a[1:], b[1:]):
            product = self._fmuladd(x, y, product)
        return product

    def dot(self, a, b):
        """The dot product of the rows a and b, in the working dtype."""
        reduce = self._function(f"llvm.vector.reduce.fadd.{self._suffix()}", self.element, [self.element, self.vector])
        product = self._products(a, b)
        return self.builder.call(reduce, [ir.Constant(self.element, 0.0), product], fastmath=_REDUCE_FLAGS)

    def group_dots(self, a, rows):
        """The dot products of ``a`` with the GROUP vectors ``rows``, as a
        <GROUP x T> vector.

        Each dot product by itself is a reduction across the lanes, four
        shuffles and four additions for 16 lanes, and shuffles all go to one
        execution port (port 5 on Intel's cores), which they then saturate.
        The four products of a group are instead folded together, halves of
        two vectors into one at each step: eight shuffles for four dot
        products instead of sixteen. The KL kernel, 0.5M nonzeros, r = 10,
        float32, one thread: 1.35 -> 0.92 ms (W side), 1.50 -> 1.02 ms (H
        side); the same 1.5x in C with AVX-512 intrinsics."""
        builder = self.builder
        half, quarter = LANES // 2, LANES // 4

        def fold(x, y, first, second):
            mask_a = ir.Constant(ir.VectorType(_I32, LANES), first)
            mask_b = ir.Constant(ir.VectorType(_I32, LANES), second)
            return builder.fadd(builder.shuffle_vector(x, y, mask_a), builder.shuffle_vector(x, y, mask_b),
                                flags=_REDUCE_FLAGS)  # fmt: skip

        products = [self._products(a, b) for b in rows]
        # halves: [p0 lo + p0 hi | p1 lo + p1 hi], the same for p2 and p3
        low = [*range(half), *range(LANES, LANES + half)]
        high = [*range(half, LANES), *range(LANES + half, 2 * LANES)]
        pair_01 = fold(products[0], products[1], low, high)
        pair_23 = fold(products[2], products[3], low, high)
        # quarters: lanes 4t..4t+3 hold product t folded to a quarter of its lanes
        starts = (0, half, LANES, LANES + half)
        first = [s + k for s in starts for k in range(quarter)]
        second = [s + quarter + k for s in starts for k in range(quarter)]
        folded = fold(pair_01, pair_23, first, second)
        # within each quarter, then: its total in its first lane
        for step in halvings(quarter):
            swap = [q * quarter + (k ^ step) for q in range(GROUP) for k in range(quarter)]
            swapped = builder.shuffle_vector(folded, folded, ir.Constant(ir.VectorType(_I32, LANES), swap))
            folded = builder.fadd(folded, swapped, flags=_REDUCE_FLAGS)
        pick = ir.Constant(ir.VectorType(_I32, GROUP), [t * quarter for t in range(GROUP)])
        return builder.shuffle_vector(folded, folded, pick)

    def lane(self, small, t):
        """Lane t of a <GROUP x T> vector in every lane of a row vector."""
        return self.builder.shuffle_vector(small, small, ir.Constant(ir.VectorType(_I32, LANES), [t] * LANES))

    def group_values(self, p):
        """data[p:p + GROUP] as a <GROUP x T> vector."""
        small = ir.VectorType(self.element, GROUP)
        pointer = self.builder.bitcast(self.builder.gep(self.argument("data").data, [p]), small.as_pointer())
        return self.builder.load(pointer, align=self.itemsize)

    def keep_group(self, p, dots):
        """kept[p - base:p - base + GROUP] = dots, as float64."""
        builder = self.builder
        wide = ir.VectorType(ir.DoubleType(), GROUP)
        value = builder.fpext(dots, wide) if self.element != ir.DoubleType() else dots
        pointer = builder.gep(self.argument("kept").data, [builder.sub(p, self.scalar("base"))])
        builder.store(value, builder.bitcast(pointer, wide.as_pointer()), align=8)

    def clamp_group(self, dots):
        """max(ab, eps) for each lane of ``dots``."""
        eps = self.builder.insert_element(ir.Constant(dots.type, ir.Undefined), self.argument("eps"), _I32(0))
        eps = self.builder.shuffle_vector(eps, eps, ir.Constant(ir.VectorType(_I32, GROUP), [0] * GROUP))
        return self.builder.select(self.builder.fcmp_ordered(">", eps, dots), eps, dots)

    def prefetch_group(self, p, last):
        """Prefetch the rows of B that entries p + PREFETCH_AHEAD ... +
        GROUP - 1 gather (entries past ``last`` taken as ``last``), at
        ``prefetch_offsets`` from each row's start."""
        builder = self.builder
        prefetch = self._function("llvm.prefetch.p0", ir.VoidType(), [_BYTE_POINTER, _I32, _I32, _I32])
        for t in range(GROUP):
            q = builder.add(p, _I64(PREFETCH_AHEAD + t))
            q = builder.select(builder.icmp_signed("<", q, last), q, last)
            start = self.B_row_address(q)
            for offset in self.prefetch_offsets:
                address = builder.inttoptr(builder.add(start, offset), _BYTE_POINTER)
                # a read (0), to be kept in every level of cache (3), of data (1)
                builder.call(prefetch, [address, _I32(0), _I32(3), _I32(1)])

    def row_loop(self, start, end, last, far, entry, count=1, group=None, sets=GROUP):
        """Run ``entry(p, sums) -> sums`` over the stored entries start..end-1,
        ``sums`` a tuple of ``count`` rows: ``sets`` sets of sums (GROUP or
        1), entry p + t of a group on set t % sets (:func:`spread`), the
        rest on the first set. ``group(p, sets) -> sets``, if given, takes
        the GROUP entries from p at once instead. Returns the sets added
        together, (s0 + s1) + (s2 + s3) with GROUP sets."""
        builder = self.builder
        grouped = builder.add(start, builder.mul(builder.sdiv(builder.sub(end, start), _I64(GROUP)), _I64(GROUP)))
        before = builder.block
        group_head = builder.append_basic_block("group_head")
        group_body = builder.append_basic_block("group_body")
        rest_head = builder.append_basic_block("rest_head")
        rest_body = builder.append_basic_block("rest_body")
        done = builder.append_basic_block("done")
        builder.branch(group_head)

        def phis(incoming, block):
            values = tuple(tuple(builder.phi(self.vector) for _ in row) for row in incoming)
            close(values, incoming, block)
            return values

        def close(values, updated, block):
            for row, new_row in zip(values, updated):
                for phi, value in zip(row, new_row):
                    phi.add_incoming(value, block)

        builder.position_at_end(group_head)
        p = builder.phi(_I64)
        p.add_incoming(start, before)
        sets = [phis((self.zero_row,) * count, before) for _ in range(sets)]
        builder.cbranch(builder.icmp_signed("<", p, grouped), group_body, rest_head)

        builder.position_at_end(group_body)
        with builder.if_then(far):
            self.prefetch_group(p, last)
        if group is None:
            updated = spread(sets, lambda t, sums: entry(builder.add(p, _I64(t)), sums))
        else:
            updated = group(p, sets)
        p.add_incoming(builder.add(p, _I64(GROUP)), builder.block)
        for sums, new in zip(sets, updated):
            close(sums, new, builder.block)
        builder.branch(group_head)

        builder.position_at_end(rest_head)
        q = builder.phi(_I64)
        q.add_incoming(p, group_head)
        rest = phis(sets[0], group_head)
        builder.cbranch(builder.icmp_signed("<", q, end), rest_body, done)

        builder.position_at_end(rest_body)
        updated_rest = entry(q, rest)
        q.add_incoming(builder.add(q, _I64(1)), builder.block)
        close(rest, updated_rest, builder.block)
        builder.branch(rest_head)

        builder.position_at_end(done)
        if len(sets) == 1:
            return rest
        return tuple(self.add(self.add(a, b), self.add(c, d)) for a, b, c, d in zip(rest, *sets[1:]))

    def keep(self, p, ab):
        """kept[p - base] = ab, as float64 (for the objective, taken after the chunk)."""
        builder = self.builder
        wide = builder.fpext(ab, ir.DoubleType()) if ab.type != ir.DoubleType() else ab
        builder.store(wide, builder.gep(self.argument("kept").data, [builder.sub(p, self.scalar("base"))]))

    def clamp(self, ab):
        """max(ab, eps), as Python's max takes it."""
        eps = self.argument("eps")
        return self.builder.select(self.builder.fcmp_ordered(">", eps, ab), eps, ab)

    def store(self, name, total, i):
        """name[i] = total, or name[i] += total with the call's ``accumulate``."""
        builder = self.builder
        address = self.row_address(name, i)
        with builder.if_else(self.argument("accumulate")) as (added, written):
            with added:
                self.store_row(self.add(total, self.load_row(address)), address)
            with written:
                self.store_row(total, address)

    def updated(self, a, num, den, i):
        """Row ``a`` of A after the multiplicative update at gamma = 1 from
        its totals num and den: a * (num / (den + l1 + l2 a)), a zero
        denominator taken as eps and entries below ``tiny`` as zero
        (:func:`fastnmf._kernels.update.update_row`: the same operations,
        with the same fast-math flags)."""
        builder = self.builder
        flags = tuple(sorted(FASTMATH))

        def weight(name):
            return self.splat(builder.load(builder.gep(self.argument(name).data, [i])))

        l1, l2 = weight("l1_weights"), weight("l2_weights")
        eps, tiny = self.splat(self.argument("eps")), self.splat(self.argument("tiny"))
        rows = []
        for x, n, d in zip(a, num, den):
            d = builder.fadd(builder.fadd(d, l1, flags=flags), builder.fmul(l2, x, flags=flags), flags=flags)
            d = builder.select(builder.fcmp_ordered("==", d, self.zero), eps, d)
            x = builder.fmul(x, builder.fdiv(n, d, flags=flags), flags=flags)
            rows.append(builder.select(builder.fcmp_ordered("<", x, tiny), self.zero, x))
        return tuple(rows)


def spread(sets, update):
    """``update(t, sums) -> sums`` for the entries t = 0..GROUP-1 of a group:
    entry t on set t with GROUP sets (independent chains), every entry on
    the one set otherwise."""
    updated = list(sets)
    for t in range(GROUP):
        s = t % len(updated)
        updated[s] = update(t, updated[s])
    return updated


def generate(names, body, registers):
    """The code generator of an intrinsic with arguments ``names``: ``body(code)``
    on a :class:`RowCode` of the call, rows of ``registers`` vectors."""

    def codegen(context, builder, signature, args):
        body(RowCode(context, builder, signature, args, names, registers))
        return context.get_dummy_value()

    return codegen
