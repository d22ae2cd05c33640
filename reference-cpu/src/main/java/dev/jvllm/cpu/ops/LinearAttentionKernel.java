package dev.jvllm.cpu.ops;

import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.LinearAttention;
import dev.jvllm.cpu.CpuContext;
import jdk.incubator.vector.FloatVector;

/**
 * CPU reference for {@link LinearAttention} (MiniMax-Text-01 lightning attention, evaluated as its
 * decode recurrence for prefill and decode alike). Per sequence and head, {@code λ = exp(−slope)}
 * (double exp, rounded to f32), per token (f32, no fused multiply-add):
 * <pre>
 *   S[i,j] = λ·S[i,j] + k[i]·v[j]
 *   o[j]   = Σ_i q[i]·S[i,j]          (i = 0, 1, ... in order)
 * </pre>
 *
 * <p>Scalar form: one sequence at a time, the two loops verbatim. SIMD form: (sequence, head) tasks
 * in parallel; one pass over the rows i updates row i of S vectorized over j and adds q[i]·S[i,·]
 * to o, which performs the same operations in the same order per element, so both forms agree bit
 * for bit. q, k, v and out may be F32, BF16 or F16 in any mix; slopes and the state are F32.
 */
public final class LinearAttentionKernel {
    private LinearAttentionKernel() {
    }

    public static boolean supports(LinearAttention a) {
        return ScanIo.allFloat(a.q(), a.k(), a.v(), a.out());
    }

    public static void run(LinearAttention a, CpuContext ctx) {
        if (!supports(a)) {
            throw new UnsupportedOperationException("linear_attention: q, k, v and out must be F32, BF16 or F16; got q "
                    + a.q().describe() + ", out " + a.out().describe());
        }
        int heads = a.kvStates().dim(1), d = a.kvStates().dim(2);
        ScanBatch sb = ScanBatch.of("linear_attention", a.batch(), a.q().dim(0), a.kvStates().dim(0));
        float[] slopes = ScanIo.floats(a.slopes());
        if (ctx.scalar()) {
            for (int i = 0; i < sb.size(); i++) {
                scalarSequence(a, sb.start()[i], sb.len()[i], sb.slot()[i], sb.init()[i], slopes, heads, d);
            }
            return;
        }
        ctx.pool().forEach(sb.size() * heads, task -> {
            int i = task / heads;
            simdHead(a, sb.start()[i], sb.len()[i], sb.slot()[i], sb.init()[i], task % heads, slopes[task % heads], d);
        });
    }

    /** Row (slot, head, i) of the [S·H·D, D] row view of the state pool. */
    private static long stateRow(int slot, int heads, int h, int d, int i) {
        return ((long) slot * heads + h) * d + i;
    }

    private static void loadState(Tensor states, int slot, int heads, int h, int d, float[] s) {
        for (int i = 0; i < d; i++) {
            ScanIo.load(states, stateRow(slot, heads, h, d, i), 0, d, s, i * d);
        }
    }

    private static void storeState(Tensor states, int slot, int heads, int h, int d, float[] s) {
        for (int i = 0; i < d; i++) {
            ScanIo.store(states, stateRow(slot, heads, h, d, i), 0, d, s, i * d);
        }
    }

    /** The specification: every head of one sequence, in order. */
    static void scalarSequence(LinearAttention a, int start, int len, int slot, boolean init, float[] slopes,
            int heads, int d) {
        float[] q = new float[d], k = new float[d], v = new float[d], o = new float[d];
        for (int h = 0; h < heads; h++) {
            float lambda = (float) Math.exp(-slopes[h]);
            float[] s = new float[d * d]; // [D][D], zeros without initial state
            if (init) {
                loadState(a.kvStates(), slot, heads, h, d, s);
            }
            for (int t = start; t < start + len; t++) {
                ScanIo.load(a.q(), t, h * d, d, q, 0);
                ScanIo.load(a.k(), t, h * d, d, k, 0);
                ScanIo.load(a.v(), t, h * d, d, v, 0);
                for (int i = 0; i < d; i++) {
                    for (int j = 0; j < d; j++) {
                        s[i * d + j] = lambda * s[i * d + j] + k[i] * v[j];
                    }
                }
                for (int j = 0; j < d; j++) {
                    float acc = 0f;
                    for (int i = 0; i < d; i++) {
                        acc += q[i] * s[i * d + j];
                    }
                    o[j] = acc;
                }
                ScanIo.store(a.out(), t, h * d, d, o, 0);
            }
            storeState(a.kvStates(), slot, heads, h, d, s);
        }
    }

    /** The SIMD form for head h of one sequence. */
    static void simdHead(LinearAttention a, int start, int len, int slot, boolean init, int h, float slope, int d) {
        int heads = a.kvStates().dim(1);
        float lambda = (float) Math.exp(-slope);
        float[] s = new float[d * d];
        if (init) {
            loadState(a.kvStates(), slot, heads, h, d, s);
        }
        float[] q = new float[d], k = new float[d], v = new float[d], o = new float[d];
        int ub = ScanIo.vectorBound(d);
        for (int t = start; t < start + len; t++) {
            ScanIo.load(a.q(), t, h * d, d, q, 0);
            ScanIo.load(a.k(), t, h * d, d, k, 0);
            ScanIo.load(a.v(), t, h * d, d, v, 0);
            java.util.Arrays.fill(o, 0f);
            for (int i = 0; i < d; i++) {
                float ki = k[i], qi = q[i];
                int row = i * d;
                int j = 0;
                for (; j < ub; j += ScanIo.LANES) {
                    FloatVector sv = FloatVector.fromArray(ScanIo.SPECIES, s, row + j).mul(lambda)
                            .add(FloatVector.fromArray(ScanIo.SPECIES, v, j).mul(ki));
                    sv.intoArray(s, row + j);
                    FloatVector.fromArray(ScanIo.SPECIES, o, j).add(sv.mul(qi)).intoArray(o, j);
                }
                for (; j < d; j++) {
                    s[row + j] = lambda * s[row + j] + ki * v[j];
                    o[j] += qi * s[row + j];
                }
            }
            ScanIo.store(a.out(), t, h * d, d, o, 0);
        }
        storeState(a.kvStates(), slot, heads, h, d, s);
    }
}
