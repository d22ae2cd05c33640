package dev.jvllm.cuda;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.ActivationKind;
import dev.jvllm.api.ops.GatedActivation;
import dev.jvllm.api.ops.Linear;
import dev.jvllm.api.ops.LinearWeight;
import dev.jvllm.api.ops.OpArgs;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.RmsNorm;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * {@code out = x · Wᵀ + bias} for dense F32/F16/BF16 weights through {@code cublasGemmEx} with f32
 * compute (row-major via the TN trick, see {@link Cublas}), plus {@code linear.cu}'s epilogue.
 *
 * <p>Numerics as the record states: products of exact conversions, f32 accumulation, bias added in
 * f32, one rounding to out's dtype. cuBLAS takes A and B of one dtype, so when x and W differ, both
 * are widened to F32 first (exact) and multiplied in f32. When there is no bias and out's dtype is a
 * cuBLAS output type for the inputs (the inputs' own dtype or F32), cuBLAS writes out directly
 * (its f32 accumulator rounded once); otherwise it writes an F32 scratch that the epilogue adds the
 * bias to and rounds. One token with bf16 x and W goes to {@code linear.cu}'s GEMV instead
 * ({@link #gemv}).
 */
final class LinearKernels implements KernelFamily {
    private final Gpu gpu;
    // ---- quantized weights (fp8, int4, int8) are QuantLinearKernels': supports, run and
    // describeError hand them over here, so the linear op keeps one owner in KernelFamilies.ALL ----
    private final QuantLinearKernels quantized;

    LinearKernels(Gpu gpu) {
        this.gpu = gpu;
        this.quantized = new QuantLinearKernels(gpu);
    }

    @Override
    public Set<OpKind> ops() {
        return Set.of(OpKind.LINEAR);
    }

    @Override
    public boolean supports(OpArgs args) {
        if (args instanceof Linear a && !(a.weight() instanceof LinearWeight.Dense)) {
            return quantized.supports(a);
        }
        return args instanceof Linear a && a.weight() instanceof LinearWeight.Dense
                && ElementwiseKernels.floats(a.x(), a.out(), a.bias()) && gpu.cublas() != null;
    }

    @Override
    public void run(OpArgs args) {
        Linear a = (Linear) args;
        if (!(a.weight() instanceof LinearWeight.Dense dense)) {
            quantized.run(a);
            return;
        }
        int t = a.x().dim(0), n = dense.outFeatures(), k = dense.inFeatures();
        if (t == 0 || n == 0) {
            return;
        }
        if (gpu.cublas() == null) {
            throw new IllegalStateException("cuda linear needs cuBLAS: " + gpu.cublasProblem());
        }
        if (t == 1 && gemv(a, dense.w(), n, k)) {
            return;
        }
        List<CudaTensor> temps = new ArrayList<>();
        try {
            Tensor x = a.x(), w = dense.w();
            if (x.dtype() != w.dtype()) {
                x = widened(x, temps);
                w = widened(w, temps);
            }
            DType in = x.dtype();
            DType outType = a.out().dtype();
            boolean direct = a.bias() == null && k > 0 && (outType == in || outType == DType.F32);
            Tensor acc = direct ? a.out() : track(gpu.temp(DType.F32, t, n), temps);
            if (k == 0) {
                gpu.kernel("data_fill").rowsCols(t, n).view(acc).i64(t).i32(n).i64(0).launch();
            } else {
                CudaTensor cx = gpu.tensor(x), cw = gpu.tensor(w), cc = gpu.tensor(acc);
                Cublas.gemmEx(gpu.cublas(), Cublas.OP_T, Cublas.OP_N, n, t, k, gpu.one(),
                        cw.address(), Cublas.dataType(in), ld(cw), cx.address(), Cublas.dataType(in), ld(cx),
                        gpu.zero(), cc.address(), Cublas.dataType(acc.dtype()), ld(cc));
            }
            if (!direct) {
                gpu.kernel("linear_bias_round").rowsCols(t, n).view(acc).view(a.bias()).view(a.out())
                        .i64(t).i32(n).i32(a.bias() != null ? 1 : 0).launch();
            }
        } finally {
            temps.forEach(CudaTensor::close);
        }
    }

    /** linear.cu GV_WARPS: warps per block of the batch-1 GEMV, each taking two rows at a time. */
    static final int GEMV_WARPS = 8;
    /** linear.cu GV_BLOCKS_PER_SM: the GEMV's persistent grid has at most this many blocks per SM. */
    private static final int GEMV_BLOCKS_PER_SM = 2;
    /*
     * Per shape, ncu on an H200 (base clocks, kernels run one at a time) put the GEMV ahead of cuBLAS
     * for q/k/v 3072 x 2048 (8.4 against 8.9 µs), o 2048 x 2048 (6.7 / 8.1) and down 2048 x 8192 (16.6
     * against 14.1 + 3.6 for split-K and its reduce) and behind for gate/up 16384 x 2048 (22.2 / 19.6)
     * and the LM head (36.0 / 35.1); but a whole decode step's graph replayed faster with the GEMV
     * taking gate/up too (1.134 against 1.152 ms), so it takes every shape.
     */
    /** Largest K the GEMV stages in shared memory (32 KiB of bf16). */
    private static final int GEMV_MAX_K = 16384;
    /** {@code -Djvllm.cuda.gemv=false}: batch-1 dense linears go to cuBLAS too (comparisons). */
    private static final boolean GEMV = !"false".equals(System.getProperty("jvllm.cuda.gemv"));

    /**
     * The batch-1 GEMV ({@code linear_gemv_bf16}) where it applies: one token, bf16 x and W, K a
     * multiple of 8 up to {@link #GEMV_MAX_K}, W rows and x 16-byte aligned. Returns whether it ran.
     * A decode step's small projections are latency-bound in cuBLAS (docs/performance.md run 7).
     */
    private boolean gemv(Linear a, Tensor w, int n, int k) {
        if (!gemvApplies(a, w, k)) {
            return false;
        }
        runFused(null, a, null);
        return true;
    }

    /**
     * Whether a norm may fold into the GEMV that reads its output ({@link #canFuse}): one bf16 row
     * (x, residual, residualOut, out), a bf16 or f32 weight, a hidden size that is a multiple of 256 up
     * to 8192 (norm.cu's row form: hidden / 8 threads in whole warps), every tensor 16-byte aligned.
     * Tensors only; the GEMV side is checked when the next op comes.
     */
    boolean foldable(RmsNorm n) {
        int h = n.x().cols();
        DType wt = n.weight().dtype();
        if (!GEMV || n.x().dim(0) != 1 || h % 256 != 0 || h > 8192 || (wt != DType.BF16 && wt != DType.F32)) {
            return false;
        }
        for (Tensor t : new Tensor[] {n.x(), n.out(), n.residual(), n.residualOut()}) {
            if (t != null && (t.dtype() != DType.BF16 || gpu.tensor(t).address() % 16 != 0)) {
                return false;
            }
        }
        return gpu.tensor(n.weight()).address() % 16 == 0;
    }

    /**
     * Whether {@link #runFused} can run the batch-1 GEMV {@code a} with the norm before it folded in
     * ({@code norm} non-null, {@link #foldable}) and/or the gated activation of its output after it
     * ({@code gated} non-null; {@code gated} may also be checked later, when it comes: see
     * {@link #mayGate}). Conditions: the GEMV applies ({@link #gemv}'s), a's x is the norm's whole
     * output and K its hidden size, the gated op reads a's whole output, and no op's output overlaps
     * another's input or output other than as the records allow.
     */
    boolean canFuse(RmsNorm norm, Linear a, GatedActivation gated) {
        if (!(a.weight() instanceof LinearWeight.Dense dense) || a.x().dim(0) != 1 || !supports(a)
                || !gemvApplies(a, dense.w(), dense.inFeatures())) {
            return false;
        }
        CudaTensor out = gpu.tensor(a.out());
        List<Tensor> inputs = new ArrayList<>(List.of(a.x(), dense.w()));
        if (a.bias() != null) {
            inputs.add(a.bias());
        }
        if (norm != null) {
            if (!gpu.tensor(a.x()).sameView(gpu.tensor(norm.out())) || dense.inFeatures() != norm.x().cols()) {
                return false;
            }
            inputs.addAll(java.util.Arrays.asList(norm.x(), norm.weight(), norm.residual(), norm.residualOut()));
        }
        if (gated != null) {
            if (!gpu.tensor(gated.x()).sameView(out) || !GATED_FNS.contains(gated.fn())
                    || !gated.out().dtype().isFloat()) {
                return false;
            }
            inputs.add(gated.out()); // so out may not overlap it either (the loop below)
        }
        for (Tensor t : inputs) {
            if (t != null && out.overlaps(gpu.tensor(t))) {
                return false;
            }
        }
        if (gated != null) {
            CudaTensor act = gpu.tensor(gated.out());
            for (Tensor t : inputs.subList(0, inputs.size() - 1)) {
                if (t != null && act.overlaps(gpu.tensor(t))) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * Whether a gated activation may still join {@code a} (its output has an even width): the backend
     * holds such a GEMV back until the next op.
     */
    boolean mayGate(Linear a) {
        return a.out().cols() % 2 == 0;
    }

    /** The activations linear.cu's gated epilogue evaluates (elementwise.cu's gated set). */
    private static final Set<ActivationKind> GATED_FNS = java.util.EnumSet.of(ActivationKind.SILU,
            ActivationKind.GELU_ERF, ActivationKind.GELU_TANH, ActivationKind.RELU);

    /**
     * Runs what {@link #canFuse} accepted as one kernel: the GEMV of {@code a} (on sm_90 and later its
     * weights through a shared-memory ring, {@code linear_gemv_ring_bf16}, unless a norm is folded in),
     * with the norm before it recomputed by every block and staged as x (the last block writes the
     * norm's outputs: {@code linear_gemv_rms_*}), and the gated activation computed from each pair of
     * gate and up rows (a warp takes output j's two rows). The bits are those of the ops run apart.
     */
    void runFused(RmsNorm norm, Linear a, GatedActivation gated) {
        LinearWeight.Dense dense = (LinearWeight.Dense) a.weight();
        int n = dense.outFeatures(), k = dense.inFeatures();
        long items = gated != null ? n / 2 : (n + 1) / 2; // the warps' row pairs
        int splits = GEMV_SPLITS ? gemvSplits(items, k) : 1;
        long blocksPerSm = GEMV_BLOCKS_PER_SM;
        // a folded norm keeps the register form: with the ring every fold cost 5 µs more (run 21)
        int[] ring = norm == null ? ringStages() : null;
        // x staged in shared memory: K bf16, or with a folded norm its outputs and the rounded sums
        int shared = k * (norm == null ? 2 : 4);
        if (ring != null) {
            shared += GEMV_WARPS * ring[0] * RING_STAGE_BYTES;
            blocksPerSm = Math.max(1, Math.min(ring[2], gpu.blocksBySharedMemory(shared + RING_STATIC_SHARED)));
        }
        String name = ring != null ? "linear_gemv_ring_bf16" : norm == null ? "linear_gemv_bf16"
                : norm.weight().dtype() == DType.BF16 ? "linear_gemv_rms_bf16" : "linear_gemv_rms_f32";
        Launch l = gpu.kernel(name).dependent().sharedBytes(shared);
        if (norm == null) {
            l.view(a.x());
        } else {
            l.view(norm.x()).view(norm.weight()).view(norm.residual()).view(norm.residualOut()).view(norm.out())
                    .f32(norm.eps()).i32(norm.residual() != null ? 1 : 0).i32(norm.gemma() ? 1 : 0).ptr(gpu.ticket());
        }
        long blocks = Math.min((items * splits + GEMV_WARPS - 1) / GEMV_WARPS, blocksPerSm * gpu.multiprocessors());
        l.grid(blocks).block(GEMV_WARPS * 32).view(dense.w()).view(a.bias())
                .view(a.out()).i32(n).i32(k).i32(a.bias() != null ? 1 : 0)
                .view(gated != null ? gated.out() : null).i32(gated != null ? gated.fn().ordinal() : 0).i32(splits);
        if (ring != null) {
            l.i32(ring[0]).i32(ring[1]);
        }
        l.launch();
    }

    /** linear.cu RING_STAGE_WORDS · 16: one stage of the ring GEMV (2 rows x 1024 bf16). */
    private static final int RING_STAGE_BYTES = 4096;
    /** linear_gemv_ring_bf16's static shared memory (its barriers and split sums), rounded up. */
    private static final int RING_STATIC_SHARED = 1024;
    /**
     * The ring GEMV's {stages, early, blocks per SM} (linear.cu gemv_ring): 3 stages of 4 KiB per warp, 2
     * issued before the wait, 2 blocks per SM. A Llama-3.2-1B-shaped batch-1 step replayed in 0.834–0.835
     * ms against 0.865–0.868 with the weights in registers (two H200s, docs/performance.md run 21); 1 or 3
     * early, 2 stages, or 3 blocks per SM were slower. {@code -Djvllm.cuda.gemvRing=S.E[.B]} picks others
     * (S 2 or 3, E 1..S, B blocks per SM, 2 by default, fewer where the shared memory holds fewer),
     * {@code off} the register form (comparisons).
     * Read when the backend is made, so that a malformed value fails its creation with the accepted forms.
     */
    private final int[] ring = ringSpec(System.getProperty("jvllm.cuda.gemvRing", "3.2"));

    /** {@code -Djvllm.cuda.gemvRing}'s value as {stages, early, blocks per SM}, or null for {@code off}. */
    static int[] ringSpec(String spec) {
        if (spec.equals("off")) {
            return null;
        }
        String[] se = spec.split("\\.");
        try {
            int stages = Integer.parseInt(se[0]), early = se.length >= 2 ? Integer.parseInt(se[1]) : -1;
            int blocks = se.length == 3 ? Integer.parseInt(se[2]) : se.length == 2 ? GEMV_BLOCKS_PER_SM : -1;
            if (stages >= 2 && stages <= 3 && early >= 1 && early <= stages && blocks >= 1 && blocks <= 4) {
                return new int[] {stages, early, blocks};
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("-Djvllm.cuda.gemvRing: off or STAGES.EARLY[.BLOCKS_PER_SM] (stages 2 or"
                + " 3, early 1 to stages, blocks 1 to 4), got \"" + spec + "\"");
    }

    /** Whether the batch-1 GEMV goes through the shared-memory ring (tests compare both forms). */
    private boolean ringOn = ring != null;

    void useRing(boolean on) {
        ringOn = on && ring != null;
    }

    /**
     * The ring's {stages, early, blocks per SM}, or null for the register form (a GPU before sm_90 has no
     * bulk copies).
     */
    private int[] ringStages() {
        return ringOn && gpu.computeCapability() >= 90 ? ring : null;
    }

    /** {@code -Djvllm.cuda.gemvSplits=false}: one slice per row pair whatever the shape (comparisons). */
    private static final boolean GEMV_SPLITS = !"false".equals(System.getProperty("jvllm.cuda.gemvSplits"));
    /** linear.cu GV_B · 32 · 8: the K elements of one of the GEMV's batches. */
    static final int GEMV_BATCH_K = 1024;
    /**
     * About the warps of a 132-SM GPU at two GEMV blocks per SM: the GEMV's target number of units. A
     * decode step of the 1B shape replayed in 0.925 ms with 2048, 0.946 with 3072 (q/k/v in two
     * slices too), 0.939 with 4096 and 8192, 0.990 unsplit (H200, docs/performance.md run 10).
     */
    private static final int GEMV_TARGET_UNITS = 2048;

    /**
     * How many K slices each row pair (item) of the batch-1 GEMV is cut into (linear.cu {@code gemv}):
     * the largest of 1, 2 and 4 that keeps {@code items · splits} within {@value #GEMV_TARGET_UNITS}
     * units and gives every slice a batch. A projection with few rows then still has about two warps
     * per SM's scheduler slot streaming (o_proj and down_proj of a 2048-wide model: 1024 row pairs, 2
     * slices). A function of the shape alone, so a shape gives the same bits on every device.
     */
    static int gemvSplits(long items, int k) {
        int batches = (k + GEMV_BATCH_K - 1) / GEMV_BATCH_K;
        int s = 1;
        while (s < 4 && 2 * s <= batches && items * 2 * s <= GEMV_TARGET_UNITS) {
            s *= 2;
        }
        return s;
    }

    /** {@link #gemv}'s conditions on x and W. */
    private boolean gemvApplies(Linear a, Tensor w, int k) {
        Tensor x = a.x();
        if (!GEMV || x.dtype() != DType.BF16 || w.dtype() != DType.BF16 || k % 8 != 0 || k > GEMV_MAX_K) {
            return false;
        }
        CudaTensor cx = gpu.tensor(x), cw = gpu.tensor(w);
        return cx.address() % 16 == 0 && cw.address() % 16 == 0 && (cw.layout().rowStride() * 2) % 16 == 0
                && cx.layout().cols() == k;
    }

    @Override
    public String describeError(OpKind op, int detail, int a, int b, int c) {
        return quantized.describeError(detail, a, b, c); // only the quantized kernels report bad input
    }

    /** Leading dimension of a row-major matrix seen column-major: its row stride (at least 1). */
    private static int ld(CudaTensor m) {
        return Math.toIntExact(Math.max(1, m.layout().rowStride()));
    }

    /** An F32 copy of a narrower float tensor (exact), or the tensor itself when it is F32. */
    private Tensor widened(Tensor m, List<CudaTensor> temps) {
        if (m.dtype() == DType.F32) {
            return m;
        }
        CudaTensor f = track(gpu.temp(DType.F32, m.shape()), temps);
        gpu.kernel("data_cast").rowsCols(m.rows(), m.cols()).view(m).view(f).i64(m.rows()).i32(m.cols()).launch();
        return f;
    }

    private static CudaTensor track(CudaTensor t, List<CudaTensor> temps) {
        temps.add(t);
        return t;
    }
}
