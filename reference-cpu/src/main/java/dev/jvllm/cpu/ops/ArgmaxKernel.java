package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.Argmax;
import dev.jvllm.cpu.CpuContext;

/** CPU reference for {@link Argmax}: not implemented yet. */
public final class ArgmaxKernel {
    private ArgmaxKernel() {
    }

    public static boolean supports(Argmax a) {
        return false;
    }

    public static void run(Argmax a, CpuContext ctx) {
        throw new UnsupportedOperationException("argmax is not implemented on the cpu backend yet");
    }
}
