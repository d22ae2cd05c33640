package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.RmsNorm;
import dev.jvllm.cpu.CpuContext;

/** CPU reference for {@link RmsNorm}: not implemented yet. */
public final class RmsNormKernel {
    private RmsNormKernel() {
    }

    public static boolean supports(RmsNorm a) {
        return false;
    }

    public static void run(RmsNorm a, CpuContext ctx) {
        throw new UnsupportedOperationException("rmsNorm is not implemented on the cpu backend yet");
    }
}
