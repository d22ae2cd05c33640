package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.Copy;
import dev.jvllm.cpu.CpuContext;

/** CPU reference for {@link Copy}: not implemented yet. */
public final class CopyKernel {
    private CopyKernel() {
    }

    public static boolean supports(Copy a) {
        return false;
    }

    public static void run(Copy a, CpuContext ctx) {
        throw new UnsupportedOperationException("copy is not implemented on the cpu backend yet");
    }
}
