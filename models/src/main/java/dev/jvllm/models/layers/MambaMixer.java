package dev.jvllm.models.layers;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.CausalConv1d;
import dev.jvllm.api.ops.SelectiveScan;
import dev.jvllm.models.loader.CheckpointTensor;
import java.util.List;

/**
 * The Mamba-1 mixer (vLLM's {@code MambaMixer}): {@code in_proj} → [x | z]; causal depthwise conv
 * of x with SiLU; {@code x_proj} → [dt_rank | B | C]; {@code dt_proj} (its bias goes to the scan as
 * Δ bias, then softplus); selective scan with {@code A = −exp(A_log)} (computed at load), D skip
 * and the z gate; {@code out_proj}. Channels are split over tensor-parallel ranks.
 *
 * <p>Per-sequence state (registered with the context): conv state [K−1, I/tp] in the activation
 * dtype and SSM state [I/tp, N] in F32.
 */
public final class MambaMixer extends Module implements Mixer {
    private final MergedColumnParallelLinear inProj;
    private final RowParallelLinear xProj;
    private final ColumnParallelLinear dtProj;
    private final RowParallelLinear outProj;
    private final int inner;    // I/tp channels on this rank
    private final int channelStart;
    private final int stateSize;
    private final int dtRank;
    private final int kernel;
    private final boolean convBias;
    private Tensor convWeight;  // [I/tp, K]
    private Tensor convBiasT;   // [I/tp] or null
    private Tensor a;           // F32 [I/tp, N] = −exp(A_log)
    private Tensor d;           // F32 [I/tp]
    private Tensor dtBias;      // F32 [I/tp]
    private final Norm dtNorm;  // Jamba: RMSNorm of dt, B and C after x_proj; else null
    private final Norm bNorm;
    private final Norm cNorm;

    public MambaMixer(ModelContext ctx, String prefix, int hidden, int intermediate, int stateSize, int kernel,
            int dtRank, boolean bias, boolean convBias) {
        this(ctx, prefix, hidden, intermediate, stateSize, kernel, dtRank, bias, convBias, 0);
    }

    /**
     * @param innerNormEps when &gt; 0, Jamba's RMSNorms of dt, B and C ({@code dt_layernorm},
     *     {@code b_layernorm}, {@code c_layernorm}) with this epsilon
     */
    public MambaMixer(ModelContext ctx, String prefix, int hidden, int intermediate, int stateSize, int kernel,
            int dtRank, boolean bias, boolean convBias, double innerNormEps) {
        super(ctx, prefix);
        ParallelConfig p = ctx.parallel();
        this.inner = p.divide(intermediate, prefix + " intermediate size");
        this.channelStart = p.tpRank() * inner;
        this.stateSize = stateSize;
        this.dtRank = dtRank;
        this.kernel = kernel;
        this.convBias = convBias;
        inProj = add(new MergedColumnParallelLinear(ctx, join(prefix, "in_proj"), hidden,
                new int[] {intermediate, intermediate}, bias));
        xProj = add(new RowParallelLinear(ctx, join(prefix, "x_proj"), intermediate, dtRank + 2 * stateSize, false, true));
        dtProj = add(new ColumnParallelLinear(ctx, join(prefix, "dt_proj"), dtRank, intermediate, false, false));
        outProj = add(new RowParallelLinear(ctx, join(prefix, "out_proj"), intermediate, hidden, bias, true));
        param("conv1d.weight", (t, id) -> convWeight = channels(t, kernel, ctx.activationDType()));
        if (convBias) {
            param("conv1d.bias", (t, id) -> convBiasT = channels(t, 1, ctx.activationDType()));
        }
        param("dt_proj.bias", (t, id) -> dtBias = channels(t, 1, DType.F32));
        param("D", (t, id) -> d = channels(t, 1, DType.F32));
        param("A_log", (t, id) -> a = minusExp(t));
        if (innerNormEps > 0) {
            dtNorm = add(new Norm(ctx, join(prefix, "dt_layernorm"), Norm.Kind.RMS, dtRank, innerNormEps, false));
            bNorm = add(new Norm(ctx, join(prefix, "b_layernorm"), Norm.Kind.RMS, stateSize, innerNormEps, false));
            cNorm = add(new Norm(ctx, join(prefix, "c_layernorm"), Norm.Kind.RMS, stateSize, innerNormEps, false));
        } else {
            dtNorm = null;
            bNorm = null;
            cNorm = null;
        }
        DType act = ctx.activationDType();
        ctx.registerState(prefix, List.of(new ModelContext.StateSpec("conv", act, kernel - 1, inner),
                new ModelContext.StateSpec("ssm", DType.F32, inner, stateSize)));
    }

    /** x [T, H] → out [T, H] for the flat batch whose state slots {@code fc.states()} names. */
    @Override
    public void forward(Tensor x, Tensor out, ForwardContext fc, Workspace ws) {
        Backend b = ctx.backend();
        int t = x.dim(0);
        DType dt = x.dtype();
        List<Tensor> state = fc.stateCache(prefix);
        Tensor xz = ws.allocate(dt, t, 2 * inner);
        inProj.forward(x, xz);
        Tensor conv = ws.allocate(dt, t, inner);
        b.causalConv1d(new CausalConv1d(xz.narrowLast(0, inner), convWeight, convBiasT, state.get(0), fc.states(), true,
                conv));
        Tensor ssm = ws.allocate(dt, t, dtRank + 2 * stateSize);
        xProj.forward(conv, ssm);
        if (dtNorm != null) { // in place on the [dt | B | C] column views
            dtNorm.forward(ssm.narrowLast(0, dtRank), ssm.narrowLast(0, dtRank));
            bNorm.forward(ssm.narrowLast(dtRank, stateSize), ssm.narrowLast(dtRank, stateSize));
            cNorm.forward(ssm.narrowLast(dtRank + stateSize, stateSize), ssm.narrowLast(dtRank + stateSize, stateSize));
        }
        Tensor delta = ws.allocate(dt, t, inner);
        dtProj.forward(ssm.narrowLast(0, dtRank), delta);
        Tensor y = ws.allocate(dt, t, inner);
        b.selectiveScan(new SelectiveScan(conv, delta, a, ssm.narrowLast(dtRank, stateSize),
                ssm.narrowLast(dtRank + stateSize, stateSize), d, xz.narrowLast(inner, inner), dtBias, true, state.get(1),
                fc.states(), y));
        outProj.forward(y, out);
    }

    /** This rank's channels of a [I, ...] tensor ([I, 1, K] conv weights, [I] vectors) as [I/tp, cols]. */
    private Tensor channels(CheckpointTensor t, int cols, DType dtype) {
        long total = inner * (long) ctx.parallel().tpSize();
        if (t.dim(0) != total || t.numel() != total * cols) {
            throw new IllegalArgumentException("tensor " + t.name() + " has shape " + t.shapeString() + ", expected ["
                    + total + (cols > 1 ? ", 1, " + cols : "") + "] for " + prefix + " (intermediate_size, conv_kernel)");
        }
        float[] all = t.toFloatArray();
        float[] mine = java.util.Arrays.copyOfRange(all, channelStart * cols, (channelStart + inner) * cols);
        return ctx.own(cols == 1 ? Tensors.fromFloats(ctx.backend(), dtype, mine, inner)
                : Tensors.fromFloats(ctx.backend(), dtype, mine, inner, cols));
    }

    /** A = −exp(A_log), this rank's rows, F32 [I/tp, N]. */
    private Tensor minusExp(CheckpointTensor t) {
        long total = inner * (long) ctx.parallel().tpSize();
        if (t.rank() != 2 || t.dim(0) != total || t.dim(1) != stateSize) {
            throw new IllegalArgumentException("tensor " + t.name() + " has shape " + t.shapeString() + ", expected ["
                    + total + ", " + stateSize + "] (intermediate_size, state_size)");
        }
        float[] all = t.toFloatArray();
        float[] mine = new float[inner * stateSize];
        for (int i = 0; i < mine.length; i++) {
            mine[i] = (float) -Math.exp(all[channelStart * stateSize + i]);
        }
        return ctx.own(Tensors.fromFloats(ctx.backend(), DType.F32, mine, inner, stateSize));
    }
}
