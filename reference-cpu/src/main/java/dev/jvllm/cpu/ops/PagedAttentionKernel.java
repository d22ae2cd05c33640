package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.PagedAttention;
import dev.jvllm.cpu.CpuContext;

/** CPU reference for {@link PagedAttention}: not implemented yet. */
public final class PagedAttentionKernel {
    private PagedAttentionKernel() {
    }

    public static boolean supports(PagedAttention a) {
        return false;
    }

    public static void run(PagedAttention a, CpuContext ctx) {
        throw new UnsupportedOperationException("pagedAttention is not implemented on the cpu backend yet");
    }
}
