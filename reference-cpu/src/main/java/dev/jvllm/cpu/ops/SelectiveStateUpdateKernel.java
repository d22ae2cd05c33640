package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.SelectiveStateUpdate;
import dev.jvllm.cpu.CpuContext;

/**
 * CPU reference for {@link SelectiveStateUpdate} (vLLM's {@code selective_state_update}): the
 * recurrence of {@link ScanSelective} for one token per sequence, always continuing from the slot;
 * the same code as the prefill op with L = 1 (scalar and SIMD forms as there). Dtypes as
 * {@link SelectiveScanKernel}.
 */
public final class SelectiveStateUpdateKernel {
    private SelectiveStateUpdateKernel() {
    }

    public static boolean supports(SelectiveStateUpdate a) {
        return ScanIo.allFloat(a.u(), a.delta(), a.Bm(), a.Cm(), a.z(), a.out());
    }

    public static void run(SelectiveStateUpdate a, CpuContext ctx) {
        if (!supports(a)) {
            throw new UnsupportedOperationException("selective_state_update: u, delta, Bm, Cm, z and out must be F32, "
                    + "BF16 or F16; got u " + a.u().describe() + ", Bm " + a.Bm().describe());
        }
        int d = a.u().cols(), n = a.A().cols();
        ScanBatch sb = ScanBatch.decode("selective_state_update", a.stateIndices(), a.ssmStates().dim(0));
        new ScanSelective(a.u(), a.delta(), a.Bm(), a.Cm(), a.z(), a.ssmStates(), a.out(), ScanIo.floats(a.A()),
                ScanIo.floats(a.Dskip()), ScanIo.floats(a.deltaBias()), a.deltaSoftplus(), d, n).run(sb, ctx);
    }
}
