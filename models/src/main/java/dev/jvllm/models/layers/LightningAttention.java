package dev.jvllm.models.layers;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Activation;
import dev.jvllm.api.ops.ActivationKind;
import dev.jvllm.api.ops.Binary;
import dev.jvllm.api.ops.Linear;
import dev.jvllm.api.ops.LinearWeight;
import dev.jvllm.models.loader.CheckpointTensor;
import java.util.List;

/**
 * MiniMax-Text-01's lightning attention (linear attention with per-head exponential decay):
 * {@code q, k, v = silu(qkv_proj(x))}, the decayed linear-attention recurrence per head with
 * slopes {@code base^(h+1) · (1 − layer/(layers − 1 + 1e-5) + 1e-5)}, {@code base = 2^(−8/H)},
 * then {@code out_proj(sigmoid(output_gate(x)) ⊙ RMSNorm(o))}.
 *
 * <p>The checkpoint's {@code qkv_proj} rows are grouped per head as [q_h | k_h | v_h]; they are
 * regrouped at load time to [q | k | v] so q, k and v are plain column views of one output. The
 * decay buffers transformers saves ({@code slope_rate}, {@code query_decay}, {@code key_decay},
 * {@code diagonal_decay}) are recomputed, not loaded. Per-sequence state: [H, D, D] F32.
 * Not split over tensor-parallel ranks yet.
 */
public final class LightningAttention extends Module implements Mixer {
    /** Buffer names transformers saves with this layer; the model's loader skips them. */
    public static final List<String> BUFFERS = List.of("slope_rate", "query_decay", "key_decay", "diagonal_decay");

    private final int hidden;
    private final int heads;
    private final int headDim;
    private final ReplicatedLinear outputGate;
    private final ReplicatedLinear outProj;
    private final Norm norm;
    private final Tensor slopes; // F32 [H]
    private LinearWeight.Dense qkv; // rows regrouped to [q | k | v]

    public LightningAttention(ModelContext ctx, String prefix, int hidden, int heads, int headDim, int layer,
            int numLayers) {
        super(ctx, prefix);
        if (ctx.parallel().tpSize() > 1) {
            throw new IllegalArgumentException(prefix + ": tensor parallelism is not supported for MiniMax lightning "
                    + "attention yet; use --tensor-parallel-size 1");
        }
        this.hidden = hidden;
        this.heads = heads;
        this.headDim = headDim;
        int width = heads * headDim;
        outputGate = add(new ReplicatedLinear(ctx, join(prefix, "output_gate"), hidden, width, false));
        outProj = add(new ReplicatedLinear(ctx, join(prefix, "out_proj"), width, hidden, false));
        norm = add(new Norm(ctx, join(prefix, "norm"), Norm.Kind.RMS, width, 1e-6, false)); // MiniMaxRMSNorm's default eps
        param("qkv_proj.weight", (t, id) -> qkv = regroup(t));
        float[] s = new float[heads];
        double base = 1 / Math.pow(2, 8.0 / heads);
        double factor = 1 - layer / (numLayers - 1 + 1e-5) + 1e-5;
        for (int h = 0; h < heads; h++) {
            s[h] = (float) (Math.pow(base, h + 1) * factor);
        }
        slopes = ctx.own(Tensors.fromFloats(ctx.backend(), DType.F32, s, heads));
        ctx.registerState(prefix, List.of(new ModelContext.StateSpec("kv", DType.F32, heads, headDim, headDim)));
    }

    /** x [T, hidden] → out [T, hidden]. */
    @Override
    public void forward(Tensor x, Tensor out, ForwardContext fc, Workspace ws) {
        Backend b = ctx.backend();
        int t = x.dim(0), w = heads * headDim;
        DType dt = x.dtype();
        Tensor qkvOut = ws.allocate(dt, t, 3 * w);
        b.linear(new Linear(x, qkv, null, qkvOut));
        b.activation(new Activation(ActivationKind.SILU, qkvOut, qkvOut, 0f));
        Tensor o = ws.allocate(dt, t, w);
        b.linearAttention(new dev.jvllm.api.ops.LinearAttention(qkvOut.narrowLast(0, w), qkvOut.narrowLast(w, w),
                qkvOut.narrowLast(2 * w, w), slopes, fc.stateCache(prefix).get(0), fc.states(), o));
        norm.forward(o, o);
        Tensor gate = ws.allocate(dt, t, w);
        outputGate.forward(x, gate);
        b.activation(new Activation(ActivationKind.SIGMOID, gate, gate, 0f));
        b.binary(new Binary(Binary.Op.MUL, o, gate, o));
        outProj.forward(o, out);
    }

    /** [H·(q_h | k_h | v_h), hidden] on disk → [q; k; v] rows, in the weight dtype. */
    private LinearWeight.Dense regroup(CheckpointTensor t) {
        int w = heads * headDim;
        if (t.rank() != 2 || t.dim(0) != 3L * w || t.dim(1) != hidden) {
            throw new IllegalArgumentException("tensor " + t.name() + " has shape " + t.shapeString() + ", expected ["
                    + 3 * w + ", " + hidden + "] (3 × num_attention_heads × head_dim, hidden_size)");
        }
        float[] src = t.toFloatArray();
        float[] dst = new float[src.length];
        for (int h = 0; h < heads; h++) {
            for (int part = 0; part < 3; part++) { // q, k, v
                for (int d = 0; d < headDim; d++) {
                    int from = (h * 3 * headDim + part * headDim + d) * hidden;
                    int to = (part * w + h * headDim + d) * hidden;
                    System.arraycopy(src, from, dst, to, hidden);
                }
            }
        }
        DType wt = ctx.weightDType(t.dtype());
        return new LinearWeight.Dense(ctx.own(Tensors.fromFloats(ctx.backend(), wt, dst, 3 * w, hidden)));
    }
}
