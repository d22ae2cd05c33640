package dev.jvllm.cuda;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.ActivationKind;
import dev.jvllm.api.ops.MoeExperts;
import dev.jvllm.api.ops.MoeRouting;
import dev.jvllm.api.ops.OpArgs;
import dev.jvllm.api.ops.OpKind;
import java.util.Set;

/**
 * Mixture-of-experts routing and expert MLPs ({@code moe.cu}).
 *
 * <p>Routing: one warp per token; softmax, picks and renormalization in the reference's order (the
 * f32 softmax sum runs in expert order, so the weights are the reference's bits up to the f64
 * {@code exp}'s last-bit rounding).
 *
 * <p>Experts, per chunk of at most {@value #TOKEN_CHUNK} tokens (bounding the scratch to
 * chunk·k·(I + H) elements):
 * <ol>
 *   <li>group: count the (token, pick) pairs per local expert, prefix-sum them into row ranges and
 *       tile ranges, scatter the pairs into expert order ({@code moe_count}, {@code moe_offsets},
 *       {@code moe_scatter}); ids outside [0, E) (other expert-parallel ranks) are dropped here;</li>
 *   <li>gate/up: one grouped GEMM over all experts against the stacked w13, each block a tile of
 *       one expert's rows, fused with the activation: {@code act = round_x(act(g) · u)} in x's dtype;</li>
 *   <li>down: a grouped GEMM of act against w2 into f32 rows;</li>
 *   <li>combine: per token, {@code Σ_j w_tj · y} in pick order, rounded once into out.</li>
 * </ol>
 * The grouped GEMMs ({@code gemm_tile.cuh}) launch an upper bound of tiles (pairs / BM + E) so the
 * host never waits for the counts; surplus blocks return at once. Tiles of 16 rows when experts get
 * few tokens each (decode), 64 otherwise. Every output row is one f32 fma chain per element,
 * independent of its tile or position, so results are deterministic.
 */
final class MoeKernels implements KernelFamily {
    /** Tokens per pass of the expert pipeline: bounds the act [T·k, I] and y [T·k, H] scratch. */
    static final int TOKEN_CHUNK = 1024;
    private static final int ROUTE_WARPS = 8;

    private final Gpu gpu;

    MoeKernels(Gpu gpu) {
        this.gpu = gpu;
    }

    @Override
    public Set<OpKind> ops() {
        return Set.of(OpKind.MOE_ROUTING, OpKind.MOE_EXPERTS);
    }

    @Override
    public boolean supports(OpArgs args) {
        return switch (args) {
            case MoeRouting a -> plainFloat(a.routerLogits());
            case MoeExperts a -> plainFloat(a.x()) && plainFloat(a.out()) && plainFloat(a.w13()) && plainFloat(a.w2())
                    && (a.act() == ActivationKind.SILU || a.act() == ActivationKind.GELU_ERF
                    || a.act() == ActivationKind.GELU_TANH);
            default -> false;
        };
    }

    /** F32, BF16 or F16: the dtypes the reference defines these ops for. */
    private static boolean plainFloat(Tensor t) {
        return t.dtype() == DType.F32 || t.dtype() == DType.BF16 || t.dtype() == DType.F16;
    }

    @Override
    public void run(OpArgs args) {
        switch (args) {
            case MoeRouting a -> route(a);
            case MoeExperts a -> experts(a);
            default -> throw new IllegalArgumentException("moe: " + args.kind().id());
        }
    }

    private void route(MoeRouting a) {
        int tokens = a.routerLogits().dim(0), experts = a.routerLogits().cols();
        if (tokens == 0) {
            return;
        }
        try (CudaTensor p = gpu.temp(DType.F32, tokens, experts); CudaTensor taken = gpu.temp(DType.U8, tokens, experts)) {
            gpu.kernel("moe_route").grid((tokens + ROUTE_WARPS - 1) / ROUTE_WARPS).block(32 * ROUTE_WARPS)
                    .view(a.routerLogits()).ptr(p).ptr(taken).view(a.topkWeights()).view(a.topkIds())
                    .i32(tokens).i32(experts).i32(a.topK()).i32(a.renormalize() ? 1 : 0).launch();
        }
    }

    private void experts(MoeExperts a) {
        int tokens = a.x().dim(0), hidden = a.x().cols();
        int inter = a.w13().dim(1) / 2, topK = a.topkIds().cols();
        if (tokens == 0 || hidden == 0) {
            return;
        }
        if (inter == 0 || topK == 0) { // no expert contributes: Σ over nothing
            gpu.kernel("data_fill").elements((long) tokens * hidden, 256).view(a.out()).i64(tokens).i32(hidden).i64(0)
                    .launch();
            return;
        }
        for (int t0 = 0; t0 < tokens; t0 += TOKEN_CHUNK) {
            int n = Math.min(TOKEN_CHUNK, tokens - t0);
            chunk(a, a.x().slice(t0, n), a.topkIds().slice(t0, n), a.topkWeights().slice(t0, n), a.out().slice(t0, n));
        }
    }

    /** The expert pipeline over one chunk of tokens (see the class comment). */
    private void chunk(MoeExperts a, Tensor x, Tensor ids, Tensor weights, Tensor out) {
        int tokens = x.dim(0), hidden = x.cols(), experts = a.w13().dim(0), inter = a.w13().dim(1) / 2;
        int topK = ids.cols(), pairs = tokens * topK;
        int bm = pairs >= 32 * experts ? 64 : 16;
        long tiles = (pairs + bm - 1) / bm + experts;
        try (CudaTensor counts = gpu.temp(DType.I32, experts);
                CudaTensor start = gpu.temp(DType.I32, experts + 1);
                CudaTensor tileStart = gpu.temp(DType.I32, experts + 1);
                CudaTensor cursor = gpu.temp(DType.I32, experts);
                CudaTensor order = gpu.temp(DType.I32, pairs);
                CudaTensor slot = gpu.temp(DType.I32, pairs);
                CudaTensor act = gpu.temp(x.dtype(), pairs, inter);
                CudaTensor y = gpu.temp(DType.F32, pairs, hidden)) {
            gpu.kernel("data_fill").elements(experts, 256).view(counts).i64(1).i32(experts).i64(0).launch();
            gpu.kernel("moe_count").elements(pairs, 256).view(ids).ptr(counts).i32(tokens).i32(topK).i32(experts).launch();
            gpu.kernel("moe_offsets").grid(1).block(32).ptr(counts).ptr(start).ptr(tileStart).ptr(cursor).i32(experts)
                    .i32(bm).launch();
            gpu.kernel("moe_scatter").elements(pairs, 256).view(ids).ptr(cursor).ptr(order).ptr(slot).i32(tokens)
                    .i32(topK).i32(experts).launch();
            Launch gateUp = bm == 64 ? gpu.kernel("moe_gate_up_m64") : gpu.kernel("moe_gate_up_m16");
            gateUp.grid(tiles, (inter + 31) / 32, 1).block(256).view(x).view(a.w13()).ptr(order).ptr(start)
                    .ptr(tileStart).view(act).i32(topK).i32(experts).i32(hidden).i32(inter).i32(a.act().ordinal()).launch();
            Launch down = bm == 64 ? gpu.kernel("moe_down_m64") : gpu.kernel("moe_down_m16");
            down.grid(tiles, (hidden + 63) / 64, 1).block(256).view(act).view(a.w2()).ptr(start).ptr(tileStart).ptr(y)
                    .i32(experts).i32(hidden).i32(inter).launch();
            gpu.kernel("moe_combine").elements((long) tokens * hidden, 256).ptr(y).ptr(slot).view(weights).view(out)
                    .i32(tokens).i32(topK).i32(hidden).launch();
        }
    }
}
