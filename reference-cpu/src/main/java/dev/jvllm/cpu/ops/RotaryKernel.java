package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.Rotary;
import dev.jvllm.cpu.CpuContext;

/** CPU reference for {@link Rotary}: not implemented yet. */
public final class RotaryKernel {
    private RotaryKernel() {
    }

    public static boolean supports(Rotary a) {
        return false;
    }

    public static void run(Rotary a, CpuContext ctx) {
        throw new UnsupportedOperationException("rotary is not implemented on the cpu backend yet");
    }
}
