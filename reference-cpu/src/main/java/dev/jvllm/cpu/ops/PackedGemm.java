package dev.jvllm.cpu.ops;

import static dev.jvllm.cpu.ops.GemmF32.F;
import static dev.jvllm.cpu.ops.GemmF32.L;
import static dev.jvllm.cpu.ops.GemmF32.LOG_L;
import static dev.jvllm.cpu.ops.GemmF32.MR;
import static dev.jvllm.cpu.ops.GemmF32.NR;
import static dev.jvllm.cpu.ops.GemmF32.NV;
import static dev.jvllm.cpu.ops.GemmF32.XB;

import dev.jvllm.api.ops.Linear;
import dev.jvllm.cpu.CpuContext;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/**
 * The prefill linear (T &gt; {@link LinearSimd#DIRECT_MAX_ROWS}): {@link GemmF32#kernel} over packed
 * operands, giving the bits of the decode kernels (see GemmF32 for why).
 *
 * <p>Packing, with kv = {@link GemmF32#vectorPart} and M = kv / L; for a dense bf16 W, x' and W
 * rows are both taken in GemmF32's paired order (the column index below is the paired position):
 * <ul>
 *   <li>A (x', all rows, once per call): blocks of XB rows, {@code ap[blk][j][m][i] = x'[blk*XB + i, j + m*L]}
 *       (rows past T are zeros); the tail columns k &ge; kv stay row-major in {@code xTail[t][k - kv]};</li>
 *   <li>W (one panel of NR output columns at a time, by the task that owns it):
 *       {@code bp[j][m][c] = W[n0 + c, j + m*L]} at {@code j*laneStride + m*NR + c} ({@link #laneStride}),
 *       then the tail {@code bp[kv + q][c] = W[n0 + c, kv + q]} at {@code L*laneStride + q*NR + c}
 *       (columns past N are zeros). Any weight format, dequantized row by row ({@link LinearDequant#row})
 *       into rows {@link #rowStride} apart.</li>
 * </ul>
 * Both are L x L block transposes. Per W element packed, a task does 2·T flops (the panel serves
 * every row of its T-range), per x element 2·N.
 *
 * <p>Work: tasks are (N-range of whole panels) x (T-range of whole A blocks), all T per task when
 * there are enough panels. A task, per panel and per block of up to {@link #T_BLOCK} rows, runs the L
 * lanes j in bit-reversed order, each over all its row groups, and adds each lane's tile into a stack
 * of partial sums as soon as its partner in fold()'s tree is complete: lane j = 0, L/2, L/4, 3L/4, ...
 * so that level l of the stack holds the sum of 2^l lanes, and the lane with the lower index is
 * always the left operand, as in fold(). The chains run in pieces of {@link #STEP_CHUNK} steps (the
 * kernel resumes from the partial sums, so the bits do not change): a piece of the panel, NR·64
 * floats = 24 KiB, stays in L1 while all row groups of the block pass over it.
 */
final class PackedGemm {
    /** Rows of x whose partial sums a task keeps at a time (a multiple of XB). */
    static final int T_BLOCK = 64;
    /** Steps (K / L) of a lane's chains run at a time over the row groups of a block. */
    static final int STEP_CHUNK = 64;

    private PackedGemm() {
    }

    static void run(Linear a, LinearDequant w, float[] bias, LinearSimd.Out out, CpuContext ctx) {
        int tRows = a.x().dim(0);
        int k = a.weight().inFeatures();
        int n = a.weight().outFeatures();
        boolean paired = GemmF32.paired(a.weight());
        int kv = GemmF32.vectorPart(k, paired);
        int tail = k - kv;
        int blocks = (tRows + XB - 1) / XB;
        float[] ap = new float[blocks * XB * kv];
        float[] xTail = new float[tRows * tail];
        ctx.pool().forEach(blocks, blk -> packA(a, blk, tRows, k, kv, paired, ap, xTail));

        int panels = (n + NR - 1) / NR;
        float[] biasP = Arrays.copyOf(bias, panels * NR);
        int want = 8 * ctx.threads();
        int tChunks = panels >= want ? 1 : Math.min(blocks, (want + panels - 1) / panels);
        int blocksPerChunk = (blocks + tChunks - 1) / tChunks;
        tChunks = (blocks + blocksPerChunk - 1) / blocksPerChunk;
        int panelsPerChunk = Math.max(1, panels / Math.max(1, want / tChunks));
        int nChunks = (panels + panelsPerChunk - 1) / panelsPerChunk;
        int fc = tChunks;
        ctx.pool().forEach(tChunks * nChunks, task -> {
            int tc = task % fc;
            int nc = task / fc;
            int p0 = nc * panelsPerChunk;
            int t0 = tc * blocksPerChunk * XB;
            new Task(w, paired, k, kv, n, ap, xTail, biasP, out).run(p0, Math.min(panels, p0 + panelsPerChunk), t0,
                    Math.min(tRows, t0 + blocksPerChunk * XB));
        });
    }

    /** Packs rows [blk*XB, blk*XB + XB) of x' into A block blk, and their tail columns into xTail. */
    private static void packA(Linear a, int blk, int tRows, int k, int kv, boolean paired, float[] ap,
            float[] xTail) {
        Scratch s = Scratch.get(k);
        int rs = rowStride(k);
        float[] rows = s.rows; // x'[blk*XB + i, :] at i*rs; rows past T are zeros
        int tail = k - kv;
        for (int i = 0; i < XB; i++) {
            int t = blk * XB + i;
            if (t < tRows) {
                LinearKernel.activationRow(a, t, rows, i * rs);
                if (paired) {
                    GemmF32.pairUp(rows, i * rs, kv);
                }
                System.arraycopy(rows, i * rs + kv, xTail, t * tail, tail);
            } else {
                Arrays.fill(rows, i * rs, i * rs + k, 0f);
            }
        }
        int steps = kv / L;
        int base = blk * XB * kv;
        float[] scratch = s.transpose;
        for (int m = 0; m < steps; m++) {
            for (int i0 = 0; i0 < XB; i0 += L) {
                // rows i0..i0+L at columns m*L + j  ->  ap[base + (j*steps + m)*XB + i0 + i]
                GemmF32.transpose(rows, i0 * rs + m * L, rs, ap, base + m * XB + i0, steps * XB, scratch);
            }
        }
    }

    /**
     * The stride of the rows the transposes read: K plus one cache line, so that the L rows of a
     * transpose do not all map to one L1 set, as rows 8 or 32 KiB apart (K = 2048, 8192) did
     * (docs/performance.md, tenth pass).
     */
    private static int rowStride(int k) {
        return k + 64 / Float.BYTES;
    }

    /**
     * The distance of lane j + 1's steps from lane j's in a packed panel: its steps' NR columns plus
     * one cache line, so that a transpose's L stores (one per lane) do not all map to one L1 set (at
     * K = 2048 and 8192 the lanes were a multiple of 4 KiB apart).
     */
    private static int laneStride(int kv) {
        return kv / L * NR + 64 / Float.BYTES;
    }

    /** Floats a packed panel of K columns takes at most: L lanes, then the tail's K − kv (&lt; 2L) steps of NR columns. */
    private static int panelLength(int k) {
        return L * laneStride(k) + 2 * L * NR;
    }

    /**
     * A thread's working buffers, kept between calls (a W panel is 4·NR·K bytes: allocating it per
     * task would be most of a small call's garbage) and grown to the largest K seen.
     */
    private static final class Scratch {
        private static final ThreadLocal<Scratch> OF_THREAD = ThreadLocal.withInitial(Scratch::new);
        float[] rows = new float[0]; // L (W) or XB (x) rows of K, rowStride(K) apart, f32: the source of the transposes
        float[] bp = new float[0]; // a packed panel: [j][m][NR] then [tail][NR]
        final float[][] stack = new float[LOG_L + 1][T_BLOCK * NR]; // level l: sums of 2^l lanes, [row][NR]
        final float[] tile = new float[T_BLOCK * NR]; // the current lane's sums, [row][NR]
        final float[] row = new float[NR];
        final float[] transpose = new float[L * L];

        static Scratch get(int k) {
            Scratch s = OF_THREAD.get();
            if (s.rows.length < Math.max(L, XB) * rowStride(k)) {
                s.rows = new float[Math.max(L, XB) * rowStride(k)];
            }
            if (s.bp.length < panelLength(k)) {
                s.bp = new float[panelLength(k)];
            }
            return s;
        }
    }

    /** One task: its share of the output, and the buffers of the thread that runs it. */
    private static final class Task {
        final LinearDequant w;
        final boolean paired;
        final int k, kv, steps, laneStride, n;
        final float[] ap, xTail, bias;
        final LinearSimd.Out out;
        final float[] bp, wRows, tile, row, scratch;
        final float[][] stack;

        Task(LinearDequant w, boolean paired, int k, int kv, int n, float[] ap, float[] xTail, float[] bias,
                LinearSimd.Out out) {
            this.w = w;
            this.paired = paired;
            this.k = k;
            this.kv = kv;
            this.steps = kv / L;
            this.laneStride = laneStride(kv);
            this.n = n;
            this.ap = ap;
            this.xTail = xTail;
            this.bias = bias;
            this.out = out;
            Scratch s = Scratch.get(k);
            this.bp = s.bp;
            this.wRows = s.rows;
            this.tile = s.tile;
            this.row = s.row;
            this.scratch = s.transpose;
            this.stack = s.stack;
        }

        void run(int p0, int p1, int t0, int t1) {
            for (int p = p0; p < p1; p++) {
                packW(p * NR);
                for (int tb = t0; tb < t1; tb += T_BLOCK) {
                    block(p * NR, tb, Math.min(t1, tb + T_BLOCK));
                }
            }
        }

        /** bp = W rows [c0, c0 + NR) packed (rows past N are zeros). */
        private void packW(int c0) {
            int tail = k - kv;
            int rs = rowStride(k);
            for (int v = 0; v < NV; v++) {
                for (int i = 0; i < L; i++) {
                    int r = c0 + v * L + i;
                    if (r >= n) {
                        Arrays.fill(wRows, i * rs, i * rs + k, 0f);
                    } else if (paired) {
                        ((LinearDequant.Dense) w).pairedRow(r, wRows, i * rs, kv);
                    } else {
                        w.row(r, wRows, i * rs);
                    }
                }
                for (int m = 0; m < steps; m++) {
                    GemmF32.transpose(wRows, m * L, rs, bp, m * NR + v * L, laneStride, scratch);
                }
                for (int q = 0; q < tail; q++) {
                    for (int i = 0; i < L; i++) {
                        bp[L * laneStride + q * NR + v * L + i] = wRows[i * rs + kv + q];
                    }
                }
            }
        }

        /** out[tb..te, c0..c0+NR) from the packed panel. tb is a multiple of XB. */
        private void block(int c0, int tb, int te) {
            int groups = (te - tb + MR - 1) / MR;
            for (int jj = 0; jj < L; jj++) {
                int j = Integer.reverse(jj) >>> (32 - LOG_L);
                int ones = Integer.numberOfTrailingZeros(~jj); // completed tree levels after this lane
                float[] dst = ones == 0 ? stack[0] : tile;
                // the chains in pieces of STEP_CHUNK steps: each piece of the panel (NR·STEP_CHUNK floats) stays in L1 while every row group of the block passes over it
                for (int s0 = 0; s0 == 0 || s0 < steps; s0 += STEP_CHUNK) { // once at least: K < L stores zeros
                    int n1 = Math.min(STEP_CHUNK, steps - s0);
                    for (int g = 0; g < groups; g++) {
                        int t = tb + g * MR;
                        int blk = t / XB;
                        int a0 = blk * XB * kv + (j * steps + s0) * XB + (t - blk * XB);
                        GemmF32.kernel(ap, a0, bp, j * laneStride + s0 * NR, n1, dst, g * MR * NR, s0 > 0);
                    }
                }
                if (ones > 0) {
                    combine(ones, groups * MR * NR);
                }
            }
            int tail = k - kv;
            float[] sum = stack[LOG_L];
            int cols = Math.min(NR, n - c0);
            for (int t = tb; t < te; t++) {
                int s0 = (t - tb) * NR;
                for (int v = 0; v < NV; v++) {
                    FloatVector acc = FloatVector.fromArray(F, sum, s0 + v * L);
                    for (int q = 0; q < tail; q++) {
                        acc = FloatVector.broadcast(F, xTail[t * tail + q]).fma(FloatVector.fromArray(F, bp, L * laneStride + q * NR
                                + v * L), acc);
                    }
                    acc.add(FloatVector.fromArray(F, bias, c0 + v * L)).intoArray(row, v * L);
                }
                out.store(t, c0, row, 0, cols);
            }
        }

        /** stack[ones][i] = stack[ones-1][i] + (... + (stack[0][i] + tile[i])) for i &lt; len, left operands first. */
        private void combine(int ones, int len) {
            for (int i = 0; i < len; i += L) {
                FloatVector v = FloatVector.fromArray(F, tile, i);
                for (int l = 0; l < ones; l++) {
                    v = FloatVector.fromArray(F, stack[l], i).add(v);
                }
                v.intoArray(stack[ones], i);
            }
        }
    }
}
