package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.SelectiveScan;
import dev.jvllm.cpu.CpuContext;

/**
 * CPU reference for {@link SelectiveScan} (vLLM's {@code selective_scan_fn}): the per-sequence
 * recurrence of {@link ScanSelective}, scalar form one sequence at a time, SIMD form vectorized over
 * the state dimension in parallel (sequence, channel block) tasks. u, delta, B, C, z and out may be
 * F32, BF16 or F16 in any mix; A, Dskip, deltaBias and the state are F32 (the record requires it).
 */
public final class SelectiveScanKernel {
    private SelectiveScanKernel() {
    }

    public static boolean supports(SelectiveScan a) {
        return ScanIo.allFloat(a.u(), a.delta(), a.B(), a.C(), a.z(), a.out());
    }

    public static void run(SelectiveScan a, CpuContext ctx) {
        if (!supports(a)) {
            throw new UnsupportedOperationException("selective_scan: u, delta, B, C, z and out must be F32, BF16 or "
                    + "F16; got u " + a.u().describe() + ", B " + a.B().describe());
        }
        int d = a.u().cols(), n = a.A().cols();
        ScanBatch sb = ScanBatch.of("selective_scan", a.batch(), a.u().dim(0), a.ssmStates().dim(0));
        new ScanSelective(a.u(), a.delta(), a.B(), a.C(), a.z(), a.ssmStates(), a.out(), ScanIo.floats(a.A()),
                ScanIo.floats(a.Dskip()), ScanIo.floats(a.deltaBias()), a.deltaSoftplus(), d, n).run(sb, ctx);
    }
}
