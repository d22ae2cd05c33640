package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.Binary;
import dev.jvllm.cpu.CpuContext;

/** CPU reference for {@link Binary}: not implemented yet. */
public final class BinaryKernel {
    private BinaryKernel() {
    }

    public static boolean supports(Binary a) {
        return false;
    }

    public static void run(Binary a, CpuContext ctx) {
        throw new UnsupportedOperationException("binary is not implemented on the cpu backend yet");
    }
}
