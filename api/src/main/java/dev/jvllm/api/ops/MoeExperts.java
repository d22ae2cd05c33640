package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.List;

/**
 * The routed expert MLPs and their weighted combine:
 * {@code out[t] = Σ_j topkWeights[t,j] · W2_e · (act(W1_e x_t) ⊙ W3_e x_t)}, e = topkIds[t, j],
 * where {@code w13[e]} stacks [W1 (gate); W3 (up)] as vLLM's fused MoE does. Each expert's
 * intermediate activation is rounded to x's dtype (as an unfused layer would store it); the
 * combine accumulates in f32 and rounds once. Expert ids outside [0, E) contribute nothing
 * (expert-parallel shards). act is SILU or GELU_*.
 *
 * <p>x, out: [T, H]; w13: [E, 2I, H]; w2: [E, H, I]; topkWeights: F32 [T, k]; topkIds: I32 [T, k].
 */
public record MoeExperts(Tensor x, Tensor w13, Tensor w2, Tensor topkWeights, Tensor topkIds, ActivationKind act,
        Tensor out) implements OpArgs {
    public MoeExperts {
        String op = "moe_experts";
        Check.rank(op, "x", Check.nonNull(op, "x", x), 2);
        int t = x.dim(0), h = x.cols();
        Check.rank(op, "w13", Check.nonNull(op, "w13", w13), 3);
        Check.contiguous(op, "w13", w13);
        int e = w13.dim(0), i2 = w13.dim(1);
        Check.that(i2 % 2 == 0, op, "w13 " + w13.describe() + " must stack gate and up: even second dimension");
        Check.shape(op, "w13", w13, e, i2, h);
        Check.shape(op, "w2", Check.nonNull(op, "w2", w2), e, h, i2 / 2);
        Check.contiguous(op, "w2", w2);
        Check.rank(op, "topkIds", Check.nonNull(op, "topkIds", topkIds), 2);
        Check.shape(op, "topkIds", topkIds, t, -1);
        Check.dtype(op, "topkIds", topkIds, DType.I32);
        Check.shape(op, "topkWeights", Check.nonNull(op, "topkWeights", topkWeights), t, topkIds.dim(1));
        Check.dtype(op, "topkWeights", topkWeights, DType.F32);
        Check.that(act != null, op, "act must not be null");
        Check.sameShape(op, "x", x, "out", Check.nonNull(op, "out", out));
    }

    @Override
    public OpKind kind() {
        return OpKind.MOE_EXPERTS;
    }

    @Override
    public List<Tensor> outputs() {
        return List.of(out);
    }
}
