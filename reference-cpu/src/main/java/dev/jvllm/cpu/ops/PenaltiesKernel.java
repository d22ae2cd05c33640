package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.Penalties;
import dev.jvllm.cpu.CpuContext;

/** CPU reference for {@link Penalties}: not implemented yet. */
public final class PenaltiesKernel {
    private PenaltiesKernel() {
    }

    public static boolean supports(Penalties a) {
        return false;
    }

    public static void run(Penalties a, CpuContext ctx) {
        throw new UnsupportedOperationException("penalties is not implemented on the cpu backend yet");
    }
}
