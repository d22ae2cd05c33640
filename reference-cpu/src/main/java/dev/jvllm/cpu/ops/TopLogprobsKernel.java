package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.TopLogprobs;
import dev.jvllm.cpu.CpuContext;

/** CPU reference for {@link TopLogprobs}: not implemented yet. */
public final class TopLogprobsKernel {
    private TopLogprobsKernel() {
    }

    public static boolean supports(TopLogprobs a) {
        return false;
    }

    public static void run(TopLogprobs a, CpuContext ctx) {
        throw new UnsupportedOperationException("topLogprobs is not implemented on the cpu backend yet");
    }
}
