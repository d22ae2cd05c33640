package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.Scale;
import dev.jvllm.cpu.CpuContext;

/** CPU reference for {@link Scale}: not implemented yet. */
public final class ScaleKernel {
    private ScaleKernel() {
    }

    public static boolean supports(Scale a) {
        return false;
    }

    public static void run(Scale a, CpuContext ctx) {
        throw new UnsupportedOperationException("scale is not implemented on the cpu backend yet");
    }
}
