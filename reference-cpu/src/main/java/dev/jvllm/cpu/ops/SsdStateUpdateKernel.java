package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.SsdStateUpdate;
import dev.jvllm.cpu.CpuContext;

/** CPU reference for {@link SsdStateUpdate}: not implemented yet. */
public final class SsdStateUpdateKernel {
    private SsdStateUpdateKernel() {
    }

    public static boolean supports(SsdStateUpdate a) {
        return false;
    }

    public static void run(SsdStateUpdate a, CpuContext ctx) {
        throw new UnsupportedOperationException("ssdStateUpdate is not implemented on the cpu backend yet");
    }
}
