package dev.jvllm.cpu.ops;

import dev.jvllm.api.Tensor;
import dev.jvllm.cpu.CpuContext;
import java.util.function.Supplier;
import jdk.incubator.vector.FloatVector;

/**
 * The depthwise causal conv with per-sequence state shared by {@link CausalConv1dKernel},
 * {@link CausalConv1dUpdateKernel} and {@link ShortConvKernel}; the ops differ only in what a
 * token's input row is (x, or B⊙x) and what happens to the conv result (SiLU, or ⊙C), which a
 * {@link ConvIo} supplies.
 *
 * <p>For one sequence of L tokens over channels [c0, c0+n): {@code e = [s; x]} (s = the K−1 rows of
 * the state, zeros without initial state), {@code acc_t[c] = bias[c] + Σ_{i<K} w[c,i]·e[t+i][c]}
 * accumulated in f32 with one fused multiply-add per tap, in tap order (both forms, so they agree
 * bit for bit before the activation), and the new state is the last K−1 rows of e.
 */
final class ConvCore {
    /** Channels per SIMD task: a multiple of every vector length, so a channel's lane never depends on the task split. */
    static final int BLOCK = 128;

    private ConvCore() {
    }

    /** Per-token input and output of one conv op, for channels [c0, c0+n); one instance per task. */
    interface ConvIo {
        /** dst[0..n) = the conv input of token row {@code row} (f32 values of the input dtype). */
        void input(long row, int c0, int n, float[] dst);

        /** Consumes acc[0..n) = bias + Σ taps of token row {@code row} (writes the op's output). */
        void output(long row, int c0, int n, float[] acc);
    }

    /**
     * Runs every sequence of {@code sb}: the scalar form one sequence at a time over all channels,
     * the SIMD form over (sequence, channel block) tasks in parallel.
     *
     * @param weight [C][K] as f32
     * @param bias   [C] or null
     * @param states [S, K−1, C] in its own dtype; read when a sequence has initial state, always written
     */
    static void run(ScanBatch sb, int channels, int k, float[] weight, float[] bias, Tensor states, CpuContext ctx,
            Supplier<ConvIo> io) {
        if (ctx.scalar()) {
            for (int i = 0; i < sb.size(); i++) {
                sequence(sb, i, 0, channels, k, weight, bias, states, io.get(), true);
            }
            return;
        }
        int blocks = (channels + BLOCK - 1) / BLOCK;
        ctx.pool().forEach(sb.size() * blocks, task -> {
            int c0 = (task % blocks) * BLOCK;
            sequence(sb, task / blocks, c0, Math.min(BLOCK, channels - c0), k, weight, bias, states, io.get(), false);
        });
    }

    private static void sequence(ScanBatch sb, int i, int c0, int n, int k, float[] weight, float[] bias,
            Tensor states, ConvIo io, boolean scalar) {
        int slot = sb.slot()[i];
        float[] state = new float[(k - 1) * n]; // [K−1][n], zeros without initial state
        if (sb.init()[i]) {
            for (int j = 0; j < k - 1; j++) {
                ScanIo.load(states, (long) slot * (k - 1) + j, c0, n, state, j * n);
            }
        }
        float[] b = bias == null ? null : java.util.Arrays.copyOfRange(bias, c0, c0 + n);
        if (scalar) {
            scalarSequence(sb.start()[i], sb.len()[i], c0, n, k, weight, b, state, io);
        } else {
            float[] wT = new float[k * n]; // [K][n]: tap i of every channel, contiguous for vector loads
            for (int c = 0; c < n; c++) {
                for (int tap = 0; tap < k; tap++) {
                    wT[tap * n + c] = weight[(c0 + c) * k + tap];
                }
            }
            simdSequence(sb.start()[i], sb.len()[i], c0, n, k, wT, b, state, io);
        }
        for (int j = 0; j < k - 1; j++) {
            ScanIo.store(states, (long) slot * (k - 1) + j, c0, n, state, j * n);
        }
    }

    /**
     * The specification: builds e = [s; x] and evaluates the Javadoc sum directly.
     *
     * @param weight [C][K] (all channels; this call reads rows c0..c0+n)
     * @param state  [K−1][n] in: s, out: the last K−1 rows of e
     */
    static void scalarSequence(int start, int len, int c0, int n, int k, float[] weight, float[] bias, float[] state,
            ConvIo io) {
        float[][] e = new float[k - 1 + len][n];
        for (int j = 0; j < k - 1; j++) {
            System.arraycopy(state, j * n, e[j], 0, n);
        }
        for (int t = 0; t < len; t++) {
            io.input(start + t, c0, n, e[k - 1 + t]);
        }
        float[] acc = new float[n];
        for (int t = 0; t < len; t++) {
            for (int c = 0; c < n; c++) {
                float a = bias == null ? 0f : bias[c];
                for (int tap = 0; tap < k; tap++) {
                    a = Math.fma(weight[(c0 + c) * k + tap], e[t + tap][c], a);
                }
                acc[c] = a;
            }
            io.output(start + t, c0, n, acc);
        }
        for (int j = 0; j < k - 1; j++) {
            System.arraycopy(e[len + j], 0, state, j * n, n);
        }
    }

    /** The SIMD form: a ring of the last K rows of e, vectorized over channels; same fma order as the scalar form. */
    static void simdSequence(int start, int len, int c0, int n, int k, float[] wT, float[] bias, float[] state,
            ConvIo io) {
        float[][] ring = new float[k][n]; // ring[j % K] = e[j]
        for (int j = 0; j < k - 1; j++) {
            System.arraycopy(state, j * n, ring[j], 0, n);
        }
        float[] acc = new float[n];
        int ub = ScanIo.vectorBound(n);
        for (int t = 0; t < len; t++) {
            io.input(start + t, c0, n, ring[(t + k - 1) % k]);
            int c = 0;
            for (; c < ub; c += ScanIo.LANES) {
                FloatVector a = bias == null ? FloatVector.zero(ScanIo.SPECIES)
                        : FloatVector.fromArray(ScanIo.SPECIES, bias, c);
                for (int tap = 0; tap < k; tap++) {
                    FloatVector w = FloatVector.fromArray(ScanIo.SPECIES, wT, tap * n + c);
                    a = w.fma(FloatVector.fromArray(ScanIo.SPECIES, ring[(t + tap) % k], c), a);
                }
                a.intoArray(acc, c);
            }
            for (; c < n; c++) {
                float a = bias == null ? 0f : bias[c];
                for (int tap = 0; tap < k; tap++) {
                    a = Math.fma(wT[tap * n + c], ring[(t + tap) % k][c], a);
                }
                acc[c] = a;
            }
            io.output(start + t, c0, n, acc);
        }
        for (int j = 0; j < k - 1; j++) {
            System.arraycopy(ring[(len + j) % k], 0, state, j * n, n);
        }
    }

    /**
     * In place: acc[j] = silu(acc[j]), vectorized ({@link VectorMath#silu}: the same bits in every JIT
     * tier) unless {@code scalar}.
     */
    static void silu(float[] acc, int n, boolean scalar) {
        int c = 0;
        if (!scalar) {
            c = ScanIo.vectorBound(n);
            if (c > 0) {
                VectorMath.silu(acc, new float[c], c);
            }
        }
        for (; c < n; c++) {
            acc[c] = ScanIo.silu(acc[c]);
        }
    }
}
