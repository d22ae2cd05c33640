package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.Linear;
import dev.jvllm.cpu.CpuContext;

/** CPU reference for {@link Linear}: not implemented yet. */
public final class LinearKernel {
    private LinearKernel() {
    }

    public static boolean supports(Linear a) {
        return false;
    }

    public static void run(Linear a, CpuContext ctx) {
        throw new UnsupportedOperationException("linear is not implemented on the cpu backend yet");
    }
}
