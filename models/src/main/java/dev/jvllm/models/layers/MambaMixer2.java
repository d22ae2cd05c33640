package dev.jvllm.models.layers;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.CausalConv1d;
import dev.jvllm.api.ops.GatedRmsNorm;
import dev.jvllm.api.ops.SsdChunkScan;
import dev.jvllm.models.loader.CheckpointTensor;
import java.util.List;

/**
 * The Mamba-2 mixer (vLLM's {@code MambaMixer2}): {@code in_proj} → [z | xBC | dt]; causal conv of
 * xBC with SiLU, split into x [I], B [G·N], C [G·N]; the SSD scan over H heads of P channels with
 * {@code A = −exp(A_log)}, {@code dt_bias}, softplus and the {@code time_step_limit} clamp, D skip;
 * then the gated grouped RMSNorm {@code norm(y·silu(z))} per group of I/G channels, and
 * {@code out_proj}.
 *
 * <p>State per sequence: conv state [K−1, I + 2·G·N] (activation dtype), SSM state [H, P, N] (F32).
 * Tensor parallelism is not implemented for this mixer yet (vLLM shards heads and replicates
 * groups); a tp &gt; 1 context fails at construction with that reason.
 */
public final class MambaMixer2 extends Module implements Mixer {
    private final ReplicatedLinear inProj;
    private final RowParallelLinear outProj;
    private final int inner;
    private final int heads;
    private final int headDim;
    private final int groups;
    private final int stateSize;
    private final int convDim;
    private final int chunkSize;
    private final float dtMin;
    private final float dtMax;
    private final float eps;
    private final boolean normGrouped;
    private Tensor convWeight; // [convDim, K]
    private Tensor convBias;   // [convDim] or null
    private Tensor a;          // F32 [H]
    private Tensor d;          // F32 [H]
    private Tensor dtBias;     // F32 [H]
    private Tensor normWeight; // [I]

    /**
     * @param normGrouped whether the gated norm normalizes per group of I/G channels (mamba_ssm,
     *     vLLM) or over all I channels at once (transformers' Mamba2 port)
     */
    public MambaMixer2(ModelContext ctx, String prefix, int hidden, int heads, int headDim, int groups, int stateSize,
            int kernel, int chunkSize, float dtMin, float dtMax, boolean bias, boolean convBiasOn, double eps,
            boolean normGrouped) {
        super(ctx, prefix);
        if (ctx.parallel().tpSize() > 1) {
            throw new IllegalArgumentException(prefix + ": tensor parallelism is not supported for Mamba-2 mixers yet; "
                    + "use --tensor-parallel-size 1");
        }
        this.heads = heads;
        this.headDim = headDim;
        this.inner = heads * headDim;
        this.groups = groups;
        this.stateSize = stateSize;
        this.convDim = inner + 2 * groups * stateSize;
        this.chunkSize = chunkSize;
        this.dtMin = dtMin;
        this.dtMax = dtMax;
        this.eps = (float) eps;
        this.normGrouped = normGrouped;
        inProj = add(new ReplicatedLinear(ctx, join(prefix, "in_proj"), hidden, inner + convDim + heads, bias));
        outProj = add(new RowParallelLinear(ctx, join(prefix, "out_proj"), inner, hidden, bias, true));
        DType act = ctx.activationDType();
        param("conv1d.weight", (t, id) -> convWeight = host(t, convDim, kernel, act, false));
        if (convBiasOn) {
            param("conv1d.bias", (t, id) -> convBias = host(t, convDim, 1, act, false));
        }
        param("dt_bias", (t, id) -> dtBias = host(t, heads, 1, DType.F32, false));
        param("D", (t, id) -> d = host(t, heads, 1, DType.F32, false));
        param("A_log", (t, id) -> a = host(t, heads, 1, DType.F32, true));
        param("norm.weight", (t, id) -> normWeight = host(t, inner, 1, DType.F32, false));
        ctx.registerState(prefix, List.of(new ModelContext.StateSpec("conv", act, kernel - 1, convDim),
                new ModelContext.StateSpec("ssm", DType.F32, heads, headDim, stateSize)));
    }

    /** x [T, H] → out [T, H]. */
    @Override
    public void forward(Tensor x, Tensor out, ForwardContext fc, Workspace ws) {
        Backend b = ctx.backend();
        int t = x.dim(0);
        DType dt = x.dtype();
        List<Tensor> state = fc.stateCache(prefix);
        Tensor proj = ws.allocate(dt, t, inner + convDim + heads);
        inProj.forward(x, proj);
        Tensor z = proj.narrowLast(0, inner);
        Tensor xbc = ws.allocate(dt, t, convDim);
        b.causalConv1d(new CausalConv1d(proj.narrowLast(inner, convDim), convWeight, convBias, state.get(0), fc.states(),
                true, xbc));
        int gn = groups * stateSize;
        Tensor y = ws.allocate(dt, t, inner);
        b.ssdChunkScan(new SsdChunkScan(xbc.narrowLast(0, inner), proj.narrowLast(inner + convDim, heads), a,
                xbc.narrowLast(inner, gn), xbc.narrowLast(inner + gn, gn), d, dtBias, true, dtMin, dtMax, groups, chunkSize,
                state.get(1), fc.states(), y));
        Tensor gated = ws.allocate(dt, t, inner);
        b.gatedRmsNorm(new GatedRmsNorm(y, z, normWeight, gated, normGrouped ? inner / groups : inner, eps, false));
        outProj.forward(gated, out);
    }

    /** A small per-channel tensor read on the host; {@code minusExp} gives A = −exp(A_log). */
    private Tensor host(CheckpointTensor t, int rows, int cols, DType dtype, boolean minusExp) {
        if (t.dim(0) != rows || t.numel() != (long) rows * cols) {
            throw new IllegalArgumentException("tensor " + t.name() + " has shape " + t.shapeString() + ", expected ["
                    + rows + (cols > 1 ? ", 1, " + cols : "") + "] for " + prefix + " (check the mamba sizes in config.json)");
        }
        float[] v = t.toFloatArray();
        if (minusExp) {
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) -Math.exp(v[i]);
            }
        }
        return ctx.own(cols == 1 ? Tensors.fromFloats(ctx.backend(), dtype, v, rows)
                : Tensors.fromFloats(ctx.backend(), dtype, v, rows, cols));
    }
}
