package dev.jvllm.cpu.ops;

import static dev.jvllm.cpu.ops.CoreOpsTesting.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Rotary;
import org.junit.jupiter.api.Test;

class RotaryKernelTest {

    /** A neox-style cos|sin cache: row p holds cos(p·θ_i) then sin(p·θ_i), θ_i = base^(−2i/rd). */
    static float[] cosSin(int maxPos, int rd) {
        float[] cs = new float[maxPos * rd];
        for (int p = 0; p < maxPos; p++) {
            for (int i = 0; i < rd / 2; i++) {
                double theta = p * Math.pow(10000, -2.0 * i / rd);
                cs[p * rd + i] = (float) Math.cos(theta);
                cs[p * rd + rd / 2 + i] = (float) Math.sin(theta);
            }
        }
        return cs;
    }

    /** The fused qkv of one call: q, k as views of it, and the data it started from. */
    private record Fused(Tensor qkv, Tensor q, Tensor k, Tensor v, float[] data) {
    }

    private static Fused fused(Backend b, DType dt, int t, int hq, int hk, int d, long seed) {
        int cols = (hq + 2 * hk) * d;
        float[] data = rounded(dt, random(seed, t * cols, -2, 2));
        Tensor qkv = Tensors.fromFloats(b, dt, data, t, cols);
        return new Fused(qkv, qkv.narrowLast(0, hq * d), qkv.narrowLast(hq * d, hk * d),
                qkv.narrowLast((hq + hk) * d, hk * d), data);
    }

    /** The contract in f64: every head's first rd channels rotated, the rest of the row unchanged. */
    static float[] naive(float[] data, int t, int cols, int from, int width, int[] pos, float[] cs, int d, int rd,
            boolean neox, DType dt) {
        float[] out = data.clone();
        for (int r = 0; r < t; r++) {
            for (int h0 = from; h0 < from + width; h0 += d) {
                for (int i = 0; i < rd / 2; i++) {
                    int ia = r * cols + h0 + (neox ? i : 2 * i);
                    int ib = neox ? ia + rd / 2 : ia + 1;
                    double c = cs[pos[r] * rd + i], s = cs[pos[r] * rd + rd / 2 + i];
                    out[ia] = Numerics.roundTo(dt, (float) (data[ia] * c - data[ib] * s));
                    out[ib] = Numerics.roundTo(dt, (float) (data[ib] * c + data[ia] * s));
                }
            }
        }
        return out;
    }

    @Test
    void handCheckedNeoxAndGptj() {
        // row 1: pair 0 turns by 90° (cos 0, sin 1), pair 1 by 0°
        float[] cs = {1, 1, 0, 0, 0, 1, 1, 0};
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            for (boolean neox : new boolean[] {true, false}) {
                Tensor q = Tensors.fromFloats(b, DType.F32, new float[] {1, 2, 3, 4}, 1, 4);
                b.rotary(new Rotary(Tensors.fromInts(b, new int[] {1}, 1), q, null,
                        Tensors.fromFloats(b, DType.F32, cs, 2, 4), 4, 4, neox));
                float[] want = neox ? new float[] {-3, 2, 1, 4} : new float[] {-2, 1, 3, 4};
                assertArrayEquals(want, Tensors.toFloats(q), 0f, "neox=" + neox + " " + b.description());
            }
        }
    }

    @Test
    void scalarFormRotatesFusedViewsAndLeavesTheRestAlone() {
        int t = 6, hq = 4, hk = 2, d = 16, maxPos = 20;
        int[] pos = {5, 0, 19, 5, 3, 3}; // repeats, any order
        int cols = (hq + 2 * hk) * d;
        for (int rd : new int[] {16, 8}) {
            float[] cs = cosSin(maxPos, rd);
            for (boolean neox : new boolean[] {true, false}) {
                for (DType dt : FLOATS) {
                    Fused f = fused(SCALAR, dt, t, hq, hk, d, rd);
                    SCALAR.rotary(new Rotary(Tensors.fromInts(SCALAR, pos, t), f.q(), f.k(),
                            Tensors.fromFloats(SCALAR, DType.F32, cs, maxPos, rd), d, rd, neox));
                    float[] want = naive(f.data(), t, cols, 0, hq * d, pos, cs, d, rd, neox, dt);
                    want = naive(want, t, cols, hq * d, hk * d, pos, cs, d, rd, neox, dt);
                    // the f32 vs f64 products may move a result one ulp of dt; v and the channels past rd:
                    // exactly the input
                    assertClose(want, Tensors.toFloats(f.qkv()), 1e-6, relUlp(dt) + 1e-6, dt + " rd=" + rd + " neox=" + neox);
                    float[] got = Tensors.toFloats(f.qkv());
                    for (int r = 0; r < t; r++) {
                        for (int c = 0; c < cols; c++) {
                            boolean rotated = c < (hq + hk) * d && c % d < rd;
                            if (!rotated) {
                                assertEquals(f.data()[r * cols + c], got[r * cols + c], 0f, "untouched r" + r + " c" + c);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void simdMatchesScalarForModelHeadSizes() {
        int t = 7, hq = 4, hk = 2, maxPos = 64;
        int[] pos = {63, 1, 1, 40, 0, 7, 63};
        int config = 0;
        for (int d : new int[] {64, 80, 96, 128, 256}) {
            for (int rd : new int[] {d, d / 2, 24}) {
                float[] cs = cosSin(maxPos, rd);
                for (boolean neox : new boolean[] {true, false}) {
                    // every dtype appears with every head size, rotary width and layout across the loop
                    DType dt = FLOATS[(config++) % FLOATS.length];
                    {
                        Fused[] fs = new Fused[2];
                        Backend[] bs = {SCALAR, SIMD};
                        for (int k = 0; k < 2; k++) {
                            fs[k] = fused(bs[k], dt, t, hq, hk, d, d + rd);
                            bs[k].rotary(new Rotary(Tensors.fromInts(bs[k], pos, t), fs[k].q(), fs[k].k(),
                                    Tensors.fromFloats(bs[k], DType.F32, cs, maxPos, rd), d, rd, neox));
                        }
                        String what = "D=" + d + " rd=" + rd + " neox=" + neox + " " + dt;
                        assertClose(Tensors.toFloats(fs[0].qkv()), Tensors.toFloats(fs[1].qkv()), 1e-6,
                                relUlp(dt) + 1e-6, what);
                        assertSameBits(fs[0].v(), fs[1].v(), what + " v");
                    }
                }
            }
        }
    }

    @Test
    void qOnlyMixedDtypesAndThreadCounts() {
        int t = 100, hq = 4, d = 128, maxPos = 512; // ~21 tokens per pool task: several tasks
        int[] pos = new int[t];
        for (int i = 0; i < t; i++) {
            pos[i] = (i * 131) % maxPos;
        }
        float[] cs = cosSin(maxPos, d);
        Tensor[] outs = new Tensor[3];
        int[] threads = {1, 2, 7};
        for (int k = 0; k < 3; k++) {
            Backend b = simd(threads[k]);
            Tensor q = strided(b, DType.BF16, random(8, t * hq * d, -1, 1), t, hq * d, 0, 5, 0f);
            Tensor key = strided(b, DType.F16, random(9, t * 2 * d, -1, 1), t, 2 * d, 3, 0, 0f);
            b.rotary(new Rotary(Tensors.fromInts(b, pos, t), q, k == 0 ? null : key,
                    Tensors.fromFloats(b, DType.F32, cs, maxPos, d), d, d, true));
            outs[k] = q;
        }
        assertSameBits(outs[0], outs[1], "2 threads vs 1");
        assertSameBits(outs[0], outs[2], "7 threads vs 1");
    }

    @Test
    void rejectsAPositionPastTheCacheNamingIt() {
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            Tensor q = b.allocate(DType.F32, 2, 8);
            Tensor cs = Tensors.fromFloats(b, DType.F32, cosSin(4, 8), 4, 8);
            var e = assertThrows(IllegalArgumentException.class,
                    () -> b.rotary(new Rotary(Tensors.fromInts(b, new int[] {0, 4}, 2), q, null, cs, 8, 8, true)));
            assertTrue(e.getMessage().contains("positions[1] = 4"), e.getMessage());
        }
    }
}
