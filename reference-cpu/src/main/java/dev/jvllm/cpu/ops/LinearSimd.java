package dev.jvllm.cpu.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.Linear;
import dev.jvllm.api.ops.LinearWeight;
import dev.jvllm.cpu.CpuContext;
import dev.jvllm.cpu.CpuTensor;
import java.lang.foreign.MemorySegment;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The SIMD form of {@link Linear}.
 *
 * <p>Every output element is computed the same way, whatever T, the thread count or the tile it
 * falls in: {@code v = fold(lane-split FMA dot over k < kv)} ({@link GemmF32}), then the tail
 * {@code v = fma(x'[k], W[k], v)} for kv ≤ k &lt; K in order (kv = K rounded down to the vector
 * length L, or to 2L for a dense bf16 W, whose chains run in GemmF32's paired order), then
 * {@code v + bias}, rounded once to out's dtype. Hence bit-identical results for
 * any thread count and batch-invariant rows. The order depends on L, the machine's preferred
 * vector length (16 floats with AVX-512, 8 with AVX2): {@code -Djvllm.cpu.linear.bits=256} makes an
 * AVX-512 machine reproduce the bits of an AVX2 one.
 *
 * <p>Prefill (T &gt; {@link #DIRECT_MAX_ROWS}) runs {@link PackedGemm}: the same chains and fold with
 * output columns across the vector lanes, over packed operands. Decode (T ≤ 8): x' (all T rows,
 * f32) is prepared once; tasks split N into ≥ 8 per thread and walk their rows four W rows at a
 * time, each meeting all T rows of x while it sits in L1 (the 4×4 / 2×4 / 1×4 micro-kernels), or
 * eight at a time for one x row against a dense bf16 W with K past
 * {@link GemmF32#ROW_STREAM_MAX_K} (the down projection: {@link GemmF32#dot1x8Bf16}).
 * Dense bf16 and f32 rows are read in place (decode is bound by reading W), and so are int8 rows at
 * T = 1, converted in registers ({@link GemmQuant}); other formats are dequantized into an f32 panel
 * [4, K] ({@link LinearDequant#row}). Several decode ops (a layer's shards) can share one parallel
 * region ({@link #runDecode}).
 * A task keeps its outputs in an f32 tile and writes them row by row at the end.
 */
final class LinearSimd {
    /** The f32 vector species: the machine's preferred shape, or {@code -Djvllm.cpu.linear.bits=128/256/512}. */
    static final VectorSpecies<Float> F = species();
    static final int L = F.length();

    private LinearSimd() {
    }

    private static VectorSpecies<Float> species() {
        String bits = System.getProperty("jvllm.cpu.linear.bits");
        return bits == null ? FloatVector.SPECIES_PREFERRED
                : VectorSpecies.of(float.class, VectorShape.forBitSize(Integer.parseInt(bits)));
    }

    static void run(Linear a, CpuContext ctx) {
        int tRows = a.x().dim(0);
        if (tRows == 0 || a.weight().outFeatures() == 0) {
            return;
        }
        if (tRows <= DIRECT_MAX_ROWS) {
            runDecode(List.of(a), ctx);
        } else {
            PackedGemm.run(a, LinearDequant.of(a.weight()), LinearKernel.biasF32(a), new Out(a.out()), ctx);
        }
    }

    /** Up to this many x rows, dense bf16/f32 weights are read in place ({@link GemmF32}), not via a panel. */
    static final int DIRECT_MAX_ROWS = 8;

    /**
     * Decode: ops of at most {@link #DIRECT_MAX_ROWS} x rows each, run as one parallel region (one
     * wake-up of the pool instead of one per op: q/k/v or gate/up of one layer). Each op is one
     * T-block; the N-blocks of all ops have one size, chosen from their total N so that the region has
     * about 8 tasks per thread of about equal work (an op alone gets the split it always had). x' is
     * prepared on the calling thread: T·K values, less than a pool wake-up costs. Tiling never changes
     * a result (see the class comment), so every op gives the bits it gives alone.
     */
    static void runDecode(List<Linear> ops, CpuContext ctx) {
        DecodeOp[] plan = new DecodeOp[ops.size()];
        long totalN = 0;
        for (int i = 0; i < plan.length; i++) {
            plan[i] = new DecodeOp(ops.get(i));
            totalN += plan[i].tRows == 0 ? 0 : plan[i].n;
        }
        int wantTasks = 8 * ctx.threads();
        int nBlock = (int) Math.max(8, ((totalN + wantTasks - 1) / wantTasks + 7) / 8 * 8); // whole 8-row groups
        int[] firstTask = new int[plan.length + 1]; // tasks of op i: [firstTask[i], firstTask[i + 1])
        for (int i = 0; i < plan.length; i++) {
            firstTask[i + 1] = firstTask[i] + (plan[i].tRows == 0 ? 0 : (plan[i].n + nBlock - 1) / nBlock);
        }
        ctx.pool().forEach(firstTask[plan.length], task -> {
            int i = 0;
            while (task >= firstTask[i + 1]) {
                i++;
            }
            DecodeOp op = plan[i];
            int n0 = (task - firstTask[i]) * nBlock;
            tile(op.w, op.direct, op.x, op.bias, op.out, op.k, op.kv, op.tRows, n0, Math.min(op.n, n0 + nBlock));
        });
    }

    /**
     * One op of {@link #runDecode}: its x' [T, K] (in paired order for a dense bf16 W, see
     * {@link GemmF32}), bias and output, and its weight (in place where it can be).
     */
    private static final class DecodeOp {
        final int tRows, k, kv, n;
        final LinearDequant w;
        final Direct direct;
        final float[] x;
        final float[] bias;
        final Out out;

        DecodeOp(Linear a) {
            tRows = a.x().dim(0);
            k = a.weight().inFeatures();
            n = a.weight().outFeatures();
            w = LinearDequant.of(a.weight());
            direct = Direct.of(a.weight());
            boolean paired = direct != null && direct.bf16(); // GemmF32.paired(a.weight())
            kv = GemmF32.vectorPart(k, paired);
            x = new float[tRows * k];
            for (int t = 0; t < tRows; t++) {
                LinearKernel.activationRow(a, t, x, t * k);
                if (paired) {
                    GemmF32.pairUp(x, t * k, kv);
                }
            }
            bias = LinearKernel.biasF32(a);
            out = new Out(a.out());
        }
    }

    /**
     * A dense bf16 (in paired order: {@link GemmF32#paired}) or f32 W read in place: its storage and
     * row offsets. (A panel pays one f32 write and read per weight, which decode, at one or a few
     * flops per weight, cannot hide.)
     */
    private record Direct(MemorySegment seg, Tensor w, boolean bf16) {
        static Direct of(LinearWeight weight) {
            if (!(weight instanceof LinearWeight.Dense d)) {
                return null;
            }
            boolean paired = GemmF32.paired(weight);
            if (paired || d.w().dtype() == DType.F32) {
                return new Direct(CpuTensor.of(d.w()).storage(), d.w(), paired);
            }
            return null;
        }

        long row(int r) {
            return w.layout().rowByteOffset(r);
        }
    }

    /** Output columns a task finishes (and writes) at a time: its f32 tile stays small. */
    private static final int COLUMN_CHUNK = 64;

    /**
     * out[0..tRows, n0..n1): W rows four at a time (eight for one x row against a dense bf16 W past
     * {@link GemmF32#ROW_STREAM_MAX_K}), each against every x row, from an f32 panel or, when
     * {@code direct} is given, straight from W's storage (same bits either way).
     */
    private static void tile(LinearDequant w, Direct direct, float[] x, float[] bias, Out out, int k, int kv,
            int tRows, int n0, int n1) {
        // one x row against an int8 W: converted in registers, read in place (same bits)
        GemmQuant.Rows4 packed = direct == null && tRows == 1 ? GemmQuant.Rows4.of(w) : null;
        boolean inPlace = direct != null || packed != null;
        float[] panel = inPlace ? null : new float[4 * k]; // W rows j..j+3 in f32: [4, K]
        MemorySegment ws = direct != null ? direct.seg() : panel != null ? MemorySegment.ofArray(panel) : null;
        boolean bf16 = direct != null && direct.bf16();
        float[] res = new float[16];
        float[] buf = new float[16 * L]; // the kernels' accumulators, reduced in place
        float[] tileOut = new float[tRows * COLUMN_CHUNK]; // out[0..tRows, c0..c0+64) in f32
        // one x row against a dense bf16 W past ROW_STREAM_MAX_K: eight W rows side by side (same bits)
        long[] wide = bf16 && tRows == 1 && kv > GemmF32.ROW_STREAM_MAX_K ? new long[8] : null;
        for (int c0 = n0; c0 < n1; c0 += COLUMN_CHUNK) {
            int cols = Math.min(COLUMN_CHUNK, n1 - c0);
            for (int j = c0, nr; j < c0 + cols; j += nr) {
                nr = wide != null && j + 8 <= c0 + cols ? 8 : Math.min(4, c0 + cols - j);
                // a partial group repeats its last row; the extra results are dropped
                int r1 = Math.min(1, nr - 1), r2 = Math.min(2, nr - 1), r3 = Math.min(3, nr - 1);
                if (packed != null) {
                    packed.select(j, j + r1, j + r2, j + r3);
                } else if (direct == null) {
                    for (int r = 0; r < nr; r++) {
                        w.row(j + r, panel, r * k);
                    }
                }
                // W rows j, j+r1, j+r2, j+r3 as byte offsets: in the panel, or in place
                long w0 = direct == null ? 0 : direct.row(j);
                long w1 = direct == null ? 4L * r1 * k : direct.row(j + r1);
                long w2 = direct == null ? 4L * r2 * k : direct.row(j + r2);
                long w3 = direct == null ? 4L * r3 * k : direct.row(j + r3);
                for (int t = 0; t < tRows; ) {
                    int rem = tRows - t;
                    int rt = rem >= 3 ? Math.min(4, rem) : rem;
                    int x0 = t * k;
                    if (nr == 8) {
                        for (int r = 0; r < 8; r++) {
                            wide[r] = direct.row(j + r);
                        }
                        GemmF32.dot1x8Bf16(x, x0, ws, wide, kv, buf, res);
                    } else if (packed != null) {
                        packed.dot(x, x0, kv, buf, res);
                    } else if (rt >= 3) {
                        GemmF32.dot4x4(x, x0, x0 + k, x0 + 2 * k, x0 + (rt - 1) * k, ws, bf16, w0, w1, w2, w3, kv, buf, res);
                    } else if (rt == 2) {
                        GemmF32.dot2x4(x, x0, x0 + k, ws, bf16, w0, w1, w2, w3, kv, buf, res);
                    } else {
                        GemmF32.dot1x4(x, x0, ws, bf16, w0, w1, w2, w3, kv, buf, res);
                    }
                    for (int i = 0; i < rt; i++) {
                        int xo = (t + i) * k;
                        for (int r = 0; r < nr; r++) {
                            float v = res[4 * i + r];
                            for (int c = kv; c < k; c++) {
                                v = Math.fma(x[xo + c], inPlace ? w.at(j + r, c) : panel[r * k + c], v);
                            }
                            tileOut[(t + i) * COLUMN_CHUNK + j - c0 + r] = v + bias[j + r];
                        }
                    }
                    t += rt;
                }
            }
            for (int t = 0; t < tRows; t++) {
                out.store(t, c0, tileOut, t * COLUMN_CHUNK, cols);
            }
        }
    }

    /** Writes rows of out, rounding f32 once to its dtype. */
    record Out(Tensor t, MemorySegment s, DType dt) {
        Out(Tensor t) {
            this(t, CpuTensor.of(t).storage(), t.dtype());
        }

        /** out[row, col .. col+len) = round(src[off .. off+len)). */
        void store(int row, int col, float[] src, int off, int len) {
            long base = t.layout().rowByteOffset(row) + (long) col * dt.byteSize();
            if (dt == DType.F32) {
                MemorySegment.copy(src, off, s, LinearDequant.F32, base, len);
                return;
            }
            short[] bits = new short[len];
            for (int i = 0; i < len; i++) {
                bits[i] = dt == DType.BF16 ? Numerics.f32ToBf16(src[off + i]) : Numerics.f32ToF16(src[off + i]);
            }
            MemorySegment.copy(bits, 0, s, LinearDequant.I16, base, len);
        }
    }
}
