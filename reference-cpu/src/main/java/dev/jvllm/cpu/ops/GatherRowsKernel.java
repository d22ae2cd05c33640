package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.GatherRows;
import dev.jvllm.cpu.CpuContext;

/** CPU reference for {@link GatherRows}: not implemented yet. */
public final class GatherRowsKernel {
    private GatherRowsKernel() {
    }

    public static boolean supports(GatherRows a) {
        return false;
    }

    public static void run(GatherRows a, CpuContext ctx) {
        throw new UnsupportedOperationException("gatherRows is not implemented on the cpu backend yet");
    }
}
