"""Subnormal numbers as zero inside a kernel: the processor's flush-to-zero
and denormals-are-zero modes, set on the calling thread and restored after.

A kernel's thread calls :func:`subnormals_off` before its work and
:func:`restore_fp_mode` with what it returned after it, so the mode never
leaks into the caller's code (NumPy, or the user's) on that thread.

Why: under multiplicative updates, entries of W and H decay toward zero, and
the epsilon policy flushes those below the smallest normal number
(:mod:`fastnmf._epsilon`, rule 3). The sparse kernels for beta < 2, the
masked ones and the dense tile kernel multiply entries of W by entries of H
for every (W H)_ij they compute, and the product of an entry just above
that threshold with one below one is subnormal: Intel processors take a
slow path (a microcode assist) for each subnormal result. On an Intel Xeon,
the float32 KL kernel took 1.8 times as long after 100 iterations as after
10 (docs/performance.md). With both modes on, such a product is zero
instead. Below 1.2e-38 in float32 (2.2e-308 in float64), it changes a sum
only where every term of the sum is that small, and there the fit clamps
(W H)_ij at EPS for beta < 2 (rule 1) or flushes the entry the sum updates.

The modes are bits 15 (FTZ) and 6 (DAZ) of x86's MXCSR register, read and
written by ``stmxcsr`` and ``ldmxcsr`` (LLVM's ``llvm.x86.sse.stmxcsr`` and
``llvm.x86.sse.ldmxcsr``). Elsewhere the two functions do nothing.
"""

import platform

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .._jit import inlined_kernel

FLUSH_TO_ZERO = 1 << 15
DENORMALS_ARE_ZERO = 1 << 6
X86 = platform.machine().lower() in ("x86_64", "amd64")


def _mxcsr_call(builder, name, pointer):
    function_type = ir.FunctionType(ir.VoidType(), [pointer.type])
    builder.call(cgutils.get_or_insert_function(builder.module, function_type, name), [pointer])


@intrinsic
def _set_mxcsr_bits(typingctx, bits):
    """MXCSR |= bits; returns MXCSR as it was."""

    def codegen(context, builder, signature, args):
        slot = cgutils.alloca_once(builder, ir.IntType(32))
        _mxcsr_call(builder, "llvm.x86.sse.stmxcsr", builder.bitcast(slot, ir.IntType(8).as_pointer()))
        before = builder.load(slot)
        builder.store(builder.or_(before, args[0]), slot)
        _mxcsr_call(builder, "llvm.x86.sse.ldmxcsr", builder.bitcast(slot, ir.IntType(8).as_pointer()))
        return before

    return types.uint32(types.uint32), codegen


@intrinsic
def _load_mxcsr(typingctx, value):
    """MXCSR = value."""

    def codegen(context, builder, signature, args):
        slot = cgutils.alloca_once(builder, ir.IntType(32))
        builder.store(args[0], slot)
        _mxcsr_call(builder, "llvm.x86.sse.ldmxcsr", builder.bitcast(slot, ir.IntType(8).as_pointer()))
        return context.get_dummy_value()

    return types.void(types.uint32), codegen


if X86:

    @inlined_kernel
    def subnormals_off():
        """Turn on flush-to-zero and denormals-are-zero on this thread;
        returns the mode to give :func:`restore_fp_mode`."""
        return _set_mxcsr_bits(np.uint32(FLUSH_TO_ZERO | DENORMALS_ARE_ZERO))

    @inlined_kernel
    def restore_fp_mode(mode):
        """Put back the mode :func:`subnormals_off` returned."""
        _load_mxcsr(mode)

else:

    @inlined_kernel
    def subnormals_off():
        """Nothing to do on this processor."""
        return np.uint32(0)

    @inlined_kernel
    def restore_fp_mode(mode):
        """Nothing to do on this processor."""
        pass
