package dev.jvllm.models.layers;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.ActivationKind;
import dev.jvllm.api.ops.Cast;
import dev.jvllm.api.ops.MoeExperts;
import dev.jvllm.api.ops.MoeRouting;
import dev.jvllm.models.loader.CheckpointTensor;

/**
 * vLLM's {@code FusedMoE}: top-k softmax routing, then the routed experts' gated MLPs and their
 * weighted sum, in two backend ops. Experts are stored stacked, {@code w13 [E, 2I/tp, H]}
 * ([gate; up] per expert) and {@code w2 [E, H, I/tp]}; each checkpoint tensor
 * {@code experts.E.<gate|up|down>.weight} is copied into its place at load time. With tensor
 * parallelism every rank holds a slice of every expert's intermediate dimension and the outputs
 * are all-reduced.
 */
public final class FusedMoE extends Module {
    private final int numExperts;
    private final int topK;
    private final boolean renormalize;
    private final ActivationKind act;
    private final int hidden;
    private final int inter;       // I/tp
    private final int interStart;  // first intermediate row this rank holds
    private final Tensor w13;
    private final Tensor w2;

    /**
     * @param gateName, upName, downName the expert tensors' names: Mixtral {@code w1, w3, w2};
     *     Jamba/Qwen-MoE {@code gate_proj, up_proj, down_proj}
     */
    public FusedMoE(ModelContext ctx, String prefix, int numExperts, int topK, int hidden, int intermediate,
            boolean renormalize, ActivationKind act, String gateName, String upName, String downName) {
        super(ctx, prefix);
        ParallelConfig p = ctx.parallel();
        this.numExperts = numExperts;
        this.topK = topK;
        this.renormalize = renormalize;
        this.act = act;
        this.hidden = hidden;
        this.inter = p.divide(intermediate, prefix + " moe intermediate size");
        this.interStart = p.tpRank() * inter;
        // stacked copies: in the requested weight dtype, else the checkpoint's (config.json dtype)
        DType wt = ctx.weightDType(ctx.config().dtype().filter(DType::isFloat).orElse(ctx.activationDType()));
        this.w13 = ctx.own(ctx.backend().allocate(wt, numExperts, 2 * inter, hidden));
        this.w2 = ctx.own(ctx.backend().allocate(wt, numExperts, hidden, inter));
        for (int e = 0; e < numExperts; e++) {
            int expert = e;
            param("experts." + e + "." + gateName + ".weight", (t, id) -> loadUpOrGate(t, expert, 0));
            param("experts." + e + "." + upName + ".weight", (t, id) -> loadUpOrGate(t, expert, inter));
            param("experts." + e + "." + downName + ".weight", (t, id) -> loadDown(t, expert));
        }
    }

    /**
     * out [T, H] = Σ_j w_tj · expert_{e_tj}(x_t) over the top-k experts of {@code routerLogits [T, E]}
     * (all-reduced over the ranks).
     */
    public void forward(Tensor x, Tensor routerLogits, Tensor out, Workspace ws) {
        Backend b = ctx.backend();
        int t = x.dim(0);
        Tensor weights = ws.allocate(DType.F32, t, topK);
        Tensor ids = ws.allocate(DType.I32, t, topK);
        b.moeRouting(new MoeRouting(routerLogits, topK, renormalize, weights, ids));
        b.moeExperts(new MoeExperts(x, w13, w2, weights, ids, act, out));
        if (ctx.parallel().tpSize() > 1) {
            ctx.parallel().comm().allReduceSum(out);
        }
    }

    /** gate or up [I, H] of expert e: this rank's rows into w13[e, rowOffset .. rowOffset + I/tp). */
    private void loadUpOrGate(CheckpointTensor t, int e, int rowOffset) {
        check(t, (long) inter * ctx.parallel().tpSize(), hidden);
        long rowBytes = (long) hidden * t.dtype().byteSize();
        Tensor src = ctx.backend().wrap(t.data().asSlice(interStart * rowBytes, inter * rowBytes), t.dtype(), inter,
                hidden);
        Tensor dst = w13.slice(e, 1).reshape(2 * inter, hidden).slice(rowOffset, inter);
        ctx.backend().cast(new Cast(src, dst));
        src.close();
    }

    /** down [H, I] of expert e: this rank's columns into w2[e]. */
    private void loadDown(CheckpointTensor t, int e) {
        int full = inter * ctx.parallel().tpSize();
        check(t, hidden, full);
        Tensor src = ctx.backend().wrap(t.data(), t.dtype(), hidden, full);
        ctx.backend().cast(new Cast(src.narrowLast(interStart, inter), w2.slice(e, 1).reshape(hidden, inter)));
        src.close();
    }

    private void check(CheckpointTensor t, long rows, long cols) {
        if (t.rank() != 2 || t.dim(0) != rows || t.dim(1) != cols || !t.dtype().isFloat()) {
            throw new IllegalArgumentException("tensor " + t.name() + " is " + t.dtype() + t.shapeString() + ", expected a "
                    + "float [" + rows + ", " + cols + "] for " + prefix + " (hidden_size, intermediate_size in config.json)");
        }
    }

    public int numExperts() {
        return numExperts;
    }
}
