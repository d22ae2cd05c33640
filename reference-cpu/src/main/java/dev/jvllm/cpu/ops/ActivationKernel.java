package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.Activation;
import dev.jvllm.cpu.CpuContext;

/** CPU reference for {@link Activation}: not implemented yet. */
public final class ActivationKernel {
    private ActivationKernel() {
    }

    public static boolean supports(Activation a) {
        return false;
    }

    public static void run(Activation a, CpuContext ctx) {
        throw new UnsupportedOperationException("activation is not implemented on the cpu backend yet");
    }
}
