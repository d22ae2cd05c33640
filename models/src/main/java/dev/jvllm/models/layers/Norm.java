package dev.jvllm.models.layers;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.Cast;
import dev.jvllm.api.ops.LayerNorm;
import dev.jvllm.api.ops.RmsNorm;
import dev.jvllm.models.loader.CheckpointTensor;

/**
 * The normalization layers: RMSNorm (Llama; optionally with the fused residual add), Gemma's
 * RMSNorm ({@code x·(1+w)}) and LayerNorm (weight and bias). The weight (and bias) are kept in
 * F32: they are tiny and the ops read them exactly.
 */
public final class Norm extends Module {
    /** Which normalization. */
    public enum Kind { RMS, GEMMA_RMS, LAYER }

    private final Kind kind;
    private final int size;
    private final float eps;
    private Tensor weight;
    private Tensor bias;

    public Norm(ModelContext ctx, String prefix, Kind kind, int size, double eps, boolean hasBias) {
        super(ctx, prefix);
        this.kind = kind;
        this.size = size;
        this.eps = (float) eps;
        param("weight", (t, id) -> weight = vector(t));
        if (hasBias) {
            param("bias", (t, id) -> bias = vector(t));
        }
    }

    /** out = norm(x). */
    public void forward(Tensor x, Tensor out) {
        Backend b = ctx.backend();
        if (kind == Kind.LAYER) {
            b.layerNorm(new LayerNorm(x, weight, bias, out, eps));
        } else {
            b.rmsNorm(new RmsNorm(x, weight, null, out, null, eps, kind == Kind.GEMMA_RMS));
        }
    }

    /** residual += x (stored back in residual), out = norm(residual): the fused add + norm. */
    public void forwardResidual(Tensor x, Tensor residual, Tensor out) {
        if (kind == Kind.LAYER) {
            throw new UnsupportedOperationException("fused residual add is an RMSNorm feature");
        }
        ctx.backend().rmsNorm(new RmsNorm(x, weight, residual, out, residual, eps, kind == Kind.GEMMA_RMS));
    }

    private Tensor vector(CheckpointTensor t) {
        if (t.rank() != 1 || t.dim(0) != size) {
            throw new IllegalArgumentException("tensor " + t.name() + " has shape " + t.shapeString() + ", expected ["
                    + size + "] for " + prefix + " (hidden_size in config.json)");
        }
        Backend b = ctx.backend();
        Tensor src = ctx.own(b.wrap(t.data(), t.dtype(), size));
        if (src.dtype() == DType.F32) {
            return src;
        }
        Tensor out = ctx.own(b.allocate(DType.F32, size));
        b.cast(new Cast(src, out));
        return out;
    }
}
