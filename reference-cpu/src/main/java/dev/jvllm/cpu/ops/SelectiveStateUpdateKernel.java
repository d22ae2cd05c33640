package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.SelectiveStateUpdate;
import dev.jvllm.cpu.CpuContext;

/** CPU reference for {@link SelectiveStateUpdate}: not implemented yet. */
public final class SelectiveStateUpdateKernel {
    private SelectiveStateUpdateKernel() {
    }

    public static boolean supports(SelectiveStateUpdate a) {
        return false;
    }

    public static void run(SelectiveStateUpdate a, CpuContext ctx) {
        throw new UnsupportedOperationException("selectiveStateUpdate is not implemented on the cpu backend yet");
    }
}
