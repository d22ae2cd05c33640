package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.Cast;
import dev.jvllm.cpu.CpuContext;

/** CPU reference for {@link Cast}: not implemented yet. */
public final class CastKernel {
    private CastKernel() {
    }

    public static boolean supports(Cast a) {
        return false;
    }

    public static void run(Cast a, CpuContext ctx) {
        throw new UnsupportedOperationException("cast is not implemented on the cpu backend yet");
    }
}
