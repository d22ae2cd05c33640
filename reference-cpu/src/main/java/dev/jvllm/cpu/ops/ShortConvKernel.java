package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.ShortConv;
import dev.jvllm.cpu.CpuContext;

/** CPU reference for {@link ShortConv}: not implemented yet. */
public final class ShortConvKernel {
    private ShortConvKernel() {
    }

    public static boolean supports(ShortConv a) {
        return false;
    }

    public static void run(ShortConv a, CpuContext ctx) {
        throw new UnsupportedOperationException("shortConv is not implemented on the cpu backend yet");
    }
}
