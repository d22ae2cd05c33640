package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.KvCacheWrite;
import dev.jvllm.cpu.CpuContext;

/** CPU reference for {@link KvCacheWrite}: not implemented yet. */
public final class KvCacheWriteKernel {
    private KvCacheWriteKernel() {
    }

    public static boolean supports(KvCacheWrite a) {
        return false;
    }

    public static void run(KvCacheWrite a, CpuContext ctx) {
        throw new UnsupportedOperationException("kvCacheWrite is not implemented on the cpu backend yet");
    }
}
