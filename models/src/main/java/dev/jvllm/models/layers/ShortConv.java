package dev.jvllm.models.layers;

import dev.jvllm.api.Tensor;
import dev.jvllm.models.loader.CheckpointTensor;
import java.util.List;

/**
 * LFM2's short convolution (vLLM's {@code ShortConv}): {@code in_proj} → [B | C | x], then
 * {@code C ⊙ conv(B ⊙ x)} with a depthwise causal conv of width {@code conv_L_cache} and no
 * activation (one backend op), then {@code out_proj}. Per-sequence state: the last K−1 values of
 * B⊙x, [K−1, H] in the activation dtype. Not split over tensor-parallel ranks yet.
 */
public final class ShortConv extends Module implements Mixer {
    private final ReplicatedLinear inProj;
    private final ReplicatedLinear outProj;
    private final int hidden;
    private final int kernel;
    private Tensor convWeight; // [H, K]
    private Tensor convBias;   // [H] or null

    public ShortConv(ModelContext ctx, String prefix, int hidden, int kernel, boolean bias) {
        super(ctx, prefix);
        if (ctx.parallel().tpSize() > 1) {
            throw new IllegalArgumentException(prefix + ": tensor parallelism is not supported for LFM2 short "
                    + "convolutions yet; use --tensor-parallel-size 1");
        }
        this.hidden = hidden;
        this.kernel = kernel;
        inProj = add(new ReplicatedLinear(ctx, join(prefix, "in_proj"), hidden, 3 * hidden, bias));
        outProj = add(new ReplicatedLinear(ctx, join(prefix, "out_proj"), hidden, hidden, bias));
        param("conv.weight", (t, id) -> convWeight = load(t, kernel));
        if (bias) {
            param("conv.bias", (t, id) -> convBias = load(t, 1));
        }
        ctx.registerState(prefix, List.of(new ModelContext.StateSpec("conv", ctx.activationDType(), kernel - 1, hidden)));
    }

    /** x [T, H] → out [T, H]. */
    @Override
    public void forward(Tensor x, Tensor out, ForwardContext fc, Workspace ws) {
        int t = x.dim(0);
        Tensor bcx = ws.allocate(x.dtype(), t, 3 * hidden);
        inProj.forward(x, bcx);
        Tensor y = ws.allocate(x.dtype(), t, hidden);
        ctx.backend().shortConv(new dev.jvllm.api.ops.ShortConv(bcx, convWeight, convBias,
                fc.stateCache(prefix).get(0), fc.states(), y));
        outProj.forward(y, out);
    }

    private Tensor load(CheckpointTensor t, int cols) {
        if (t.dim(0) != hidden || t.numel() != (long) hidden * cols) {
            throw new IllegalArgumentException("tensor " + t.name() + " has shape " + t.shapeString() + ", expected ["
                    + hidden + (cols > 1 ? ", 1, " + cols : "") + "] (hidden_size, conv_L_cache in config.json)");
        }
        float[] v = t.toFloatArray();
        return ctx.own(cols == 1 ? dev.jvllm.api.Tensors.fromFloats(ctx.backend(), ctx.activationDType(), v, hidden)
                : dev.jvllm.api.Tensors.fromFloats(ctx.backend(), ctx.activationDType(), v, hidden, cols));
    }
}
