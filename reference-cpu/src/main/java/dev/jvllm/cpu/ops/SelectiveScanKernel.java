package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.SelectiveScan;
import dev.jvllm.cpu.CpuContext;

/** CPU reference for {@link SelectiveScan}: not implemented yet. */
public final class SelectiveScanKernel {
    private SelectiveScanKernel() {
    }

    public static boolean supports(SelectiveScan a) {
        return false;
    }

    public static void run(SelectiveScan a, CpuContext ctx) {
        throw new UnsupportedOperationException("selectiveScan is not implemented on the cpu backend yet");
    }
}
