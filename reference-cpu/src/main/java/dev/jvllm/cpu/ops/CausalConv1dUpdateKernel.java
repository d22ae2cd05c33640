package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.CausalConv1dUpdate;
import dev.jvllm.cpu.CpuContext;

/**
 * CPU reference for {@link CausalConv1dUpdate}: one decode token per sequence (vLLM's
 * {@code causal_conv1d_update}). It is {@link CausalConv1dKernel}'s per-sequence code with L = 1 and
 * the initial state always read, so prefill and decode share one definition (scalar and SIMD forms
 * as there; the SIMD form runs (sequence, channel block) tasks in parallel).
 */
public final class CausalConv1dUpdateKernel {
    private CausalConv1dUpdateKernel() {
    }

    public static boolean supports(CausalConv1dUpdate a) {
        return ScanIo.allFloat(a.x(), a.weight(), a.bias(), a.convStates(), a.out());
    }

    public static void run(CausalConv1dUpdate a, CpuContext ctx) {
        if (!supports(a)) {
            throw new UnsupportedOperationException("causal_conv1d_update: x, weight, bias, convStates and out must "
                    + "be F32, BF16 or F16; got x " + a.x().describe() + ", convStates " + a.convStates().describe());
        }
        int channels = a.x().cols(), k = a.weight().dim(1);
        ScanBatch sb = ScanBatch.decode("causal_conv1d_update", a.stateIndices(), a.convStates().dim(0));
        ConvCore.run(sb, channels, k, ScanIo.floats(a.weight()), ScanIo.floats(a.bias()), a.convStates(), ctx,
                () -> CausalConv1dKernel.io(a.x(), a.out(), a.silu(), ctx.scalar()));
    }
}
