package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.GatedRmsNorm;
import dev.jvllm.cpu.CpuContext;

/** CPU reference for {@link GatedRmsNorm}: not implemented yet. */
public final class GatedRmsNormKernel {
    private GatedRmsNormKernel() {
    }

    public static boolean supports(GatedRmsNorm a) {
        return false;
    }

    public static void run(GatedRmsNorm a, CpuContext ctx) {
        throw new UnsupportedOperationException("gatedRmsNorm is not implemented on the cpu backend yet");
    }
}
