package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.SsdStateUpdate;
import dev.jvllm.cpu.CpuContext;

/**
 * CPU reference for {@link SsdStateUpdate} (vLLM's {@code selective_state_update} on Mamba-2
 * heads): {@link SsdCore}'s recurrence for one token per sequence, always continuing from the slot;
 * the same code as {@link SsdChunkScanKernel} with L = 1 (scalar and SIMD forms as there).
 */
public final class SsdStateUpdateKernel {
    private SsdStateUpdateKernel() {
    }

    public static boolean supports(SsdStateUpdate a) {
        return ScanIo.allFloat(a.x(), a.dt(), a.B(), a.C(), a.out());
    }

    public static void run(SsdStateUpdate a, CpuContext ctx) {
        if (!supports(a)) {
            throw new UnsupportedOperationException("ssd_state_update: x, dt, B, C and out must be F32, BF16 or F16; "
                    + "got x " + a.x().describe() + ", B " + a.B().describe());
        }
        int heads = a.dt().cols();
        ScanBatch sb = ScanBatch.decode("ssd_state_update", a.stateIndices(), a.ssmStates().dim(0));
        new SsdCore(a.x(), a.dt(), a.B(), a.C(), a.ssmStates(), a.out(), ScanIo.floats(a.A()), ScanIo.floats(a.D()),
                ScanIo.floats(a.dtBias()), a.dtSoftplus(), a.dtMin(), a.dtMax(), heads, a.ssmStates().dim(2),
                a.ssmStates().dim(3), a.nGroups()).run(sb, ctx);
    }
}
