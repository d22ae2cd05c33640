package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.Sample;
import dev.jvllm.cpu.CpuContext;

/** CPU reference for {@link Sample}: not implemented yet. */
public final class SampleKernel {
    private SampleKernel() {
    }

    public static boolean supports(Sample a) {
        return false;
    }

    public static void run(Sample a, CpuContext ctx) {
        throw new UnsupportedOperationException("sample is not implemented on the cpu backend yet");
    }
}
