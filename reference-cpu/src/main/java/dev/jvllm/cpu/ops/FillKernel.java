package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.Fill;
import dev.jvllm.cpu.CpuContext;

/** CPU reference for {@link Fill}: not implemented yet. */
public final class FillKernel {
    private FillKernel() {
    }

    public static boolean supports(Fill a) {
        return false;
    }

    public static void run(Fill a, CpuContext ctx) {
        throw new UnsupportedOperationException("fill is not implemented on the cpu backend yet");
    }
}
