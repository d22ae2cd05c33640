package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.SsdChunkScan;
import dev.jvllm.cpu.CpuContext;

/** CPU reference for {@link SsdChunkScan}: not implemented yet. */
public final class SsdChunkScanKernel {
    private SsdChunkScanKernel() {
    }

    public static boolean supports(SsdChunkScan a) {
        return false;
    }

    public static void run(SsdChunkScan a, CpuContext ctx) {
        throw new UnsupportedOperationException("ssdChunkScan is not implemented on the cpu backend yet");
    }
}
