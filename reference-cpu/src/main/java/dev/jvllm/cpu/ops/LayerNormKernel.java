package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.LayerNorm;
import dev.jvllm.cpu.CpuContext;

/** CPU reference for {@link LayerNorm}: not implemented yet. */
public final class LayerNormKernel {
    private LayerNormKernel() {
    }

    public static boolean supports(LayerNorm a) {
        return false;
    }

    public static void run(LayerNorm a, CpuContext ctx) {
        throw new UnsupportedOperationException("layerNorm is not implemented on the cpu backend yet");
    }
}
