package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.List;

/**
 * MiniMax-Text-01's lightning (decayed linear) attention over a varlen flat batch, prefill and
 * decode alike, with a [D, D] state per head and sequence.
 *
 * <p>Per sequence and head h with decay {@code λ = exp(−slopes[h])} (slopes already scaled for the
 * layer) and state S (from {@code kvStates[slot]} or zeros), per token t (f32):
 * <pre>
 *   S = λ · S + k_tᵀ v_t          (S[i, j] += k_t[i] · v_t[j])
 *   o_t = q_t · S                 (o_t[j] = Σ_i q_t[i] · S[i, j])
 * </pre>
 * q, k, v are already activated (SiLU) by the caller. out = o rounded once; final S written back.
 * The output RMSNorm and sigmoid gate follow as separate ops.
 *
 * <p>q, k, v, out: [T, H·D]; slopes: F32 [H]; kvStates: F32 [S, H, D, D].
 */
public record LinearAttention(Tensor q, Tensor k, Tensor v, Tensor slopes, Tensor kvStates, StateBatch batch,
        Tensor out) implements OpArgs {
    public LinearAttention {
        String op = "linear_attention";
        Check.rank(op, "kvStates", Check.nonNull(op, "kvStates", kvStates), 4);
        Check.dtype(op, "kvStates", kvStates, DType.F32);
        Check.contiguous(op, "kvStates", kvStates);
        int h = kvStates.dim(1), d = kvStates.dim(2);
        Check.shape(op, "kvStates", kvStates, -1, h, d, d);
        Check.rank(op, "q", Check.nonNull(op, "q", q), 2);
        Check.shape(op, "q", q, -1, h * d);
        Check.sameShape(op, "q", q, "k", Check.nonNull(op, "k", k));
        Check.sameShape(op, "q", q, "v", Check.nonNull(op, "v", v));
        Check.shape(op, "slopes", Check.nonNull(op, "slopes", slopes), h);
        Check.dtype(op, "slopes", slopes, DType.F32);
        Check.that(batch != null, op, "batch must not be null");
        Check.sameShape(op, "q", q, "out", Check.nonNull(op, "out", out));
    }

    @Override
    public OpKind kind() {
        return OpKind.LINEAR_ATTENTION;
    }

    @Override
    public List<Tensor> outputs() {
        return List.of(out, kvStates);
    }
}
