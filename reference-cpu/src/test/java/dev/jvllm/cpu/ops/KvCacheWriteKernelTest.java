package dev.jvllm.cpu.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.KvCacheWrite;
import dev.jvllm.cpu.CpuBackend;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class KvCacheWriteKernelTest {
    static final Backend SCALAR = CpuBackend.create(BackendOptions.defaults().with("scalar", "true"));
    static final Backend SIMD = CpuBackend.create();
    static final DType[] FLOATS = {DType.F32, DType.BF16, DType.F16};

    /** Cache [blocks, B, Hk, D] filled with a sentinel, k/v from values; returns the args. */
    static KvCacheWrite args(Backend b, DType src, DType cache, float[] k, float[] v, int[] slots, int blocks, int bs,
            int hk, int d, float sentinel) {
        int t = slots.length;
        float[] fill = new float[blocks * bs * hk * d];
        java.util.Arrays.fill(fill, sentinel);
        return new KvCacheWrite(Tensors.fromFloats(b, src, k, t, hk * d), Tensors.fromFloats(b, src, v, t, hk * d),
                Tensors.fromFloats(b, cache, fill, blocks, bs, hk, d), Tensors.fromFloats(b, cache, fill.clone(), blocks,
                        bs, hk, d), Tensors.fromInts(b, slots, t));
    }

    @Test
    void writesEachTokenToItsSlotAndNothingElse() {
        // cache [3 blocks, B=2, Hk=2, D=3]: slot s = block·2 + offset; token 1 is padding
        int[] slots = {5, -1, 0, 3};
        float[] k = new float[4 * 6], v = new float[4 * 6];
        for (int i = 0; i < k.length; i++) {
            k[i] = i + 1;
            v[i] = -(i + 1);
        }
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            KvCacheWrite a = args(b, DType.F32, DType.F32, k, v, slots, 3, 2, 2, 3, 99f);
            b.kvCacheWrite(a);
            float[] kc = Tensors.toFloats(a.kCache()), vc = Tensors.toFloats(a.vCache());
            for (int s = 0; s < 6; s++) {
                int t = s == 5 ? 0 : s == 0 ? 2 : s == 3 ? 3 : -1;
                for (int e = 0; e < 6; e++) {
                    assertEquals(t < 0 ? 99f : k[t * 6 + e], kc[s * 6 + e], b.description() + " slot " + s);
                    assertEquals(t < 0 ? 99f : v[t * 6 + e], vc[s * 6 + e], b.description() + " slot " + s);
                }
            }
        }
    }

    @Test
    void narrowingRoundsToNearestEvenAndEqualDtypesCopyBits() {
        // f32 → bf16/f16 must round like Numerics (ties to even); bf16 → bf16 keeps a signalling NaN's bits
        float[] k = {1f + 0x1p-8f, 1f + 0x1p-8f + 0x1p-9f, 1f + 3 * 0x1p-8f, 1f + 0x1p-11f, 65520f, -0f, 1e-8f,
            Float.NaN, 3.14159f};
        float[] v = k.clone();
        int n = k.length;
        for (DType cache : new DType[] {DType.BF16, DType.F16}) {
            for (Backend b : new Backend[] {SCALAR, SIMD}) {
                KvCacheWrite a = args(b, DType.F32, cache, k, v, new int[] {0}, 1, 1, 1, n, 0f);
                b.kvCacheWrite(a);
                byte[] got = Tensors.toBytes(a.kCache());
                for (int i = 0; i < n; i++) {
                    short want = cache == DType.BF16 ? Numerics.f32ToBf16(k[i]) : Numerics.f32ToF16(k[i]);
                    short g = (short) ((got[2 * i] & 0xFF) | (got[2 * i + 1] << 8));
                    assertEquals(want, g, cache + " " + b.description() + " element " + i);
                }
            }
        }
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            Tensor src = b.allocate(DType.BF16, 1, 9);
            short[] raw = {0x7F81, (short) 0xFF80, 0x0001, (short) 0x8000, 0x3F80, 0x7FC0, 0x1234, (short) 0xABCD, 0x7F80};
            try (Arena arena = Arena.ofConfined()) {
                b.write(src, arena.allocateFrom(ValueLayout.JAVA_SHORT, raw));
            }
            Tensor kc = b.allocate(DType.BF16, 2, 1, 1, 9), vc = b.allocate(DType.BF16, 2, 1, 1, 9);
            b.kvCacheWrite(new KvCacheWrite(src, src, kc, vc, Tensors.fromInts(b, new int[] {1}, 1)));
            byte[] got = Tensors.toBytes(kc);
            for (int i = 0; i < 9; i++) {
                short g = (short) ((got[18 + 2 * i] & 0xFF) | (got[18 + 2 * i + 1] << 8));
                assertEquals(raw[i], g, b.description() + " raw bf16 element " + i);
            }
        }
    }

    @Test
    void laterTokenWinsADuplicateSlot() {
        float[] k = {1, 2, 3, 4, 5, 6}, v = {6, 5, 4, 3, 2, 1};
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            KvCacheWrite a = args(b, DType.F32, DType.F32, k, v, new int[] {1, 1, 1}, 1, 2, 1, 2, 0f);
            b.kvCacheWrite(a);
            assertArrayEquals(new float[] {0, 0, 5, 6}, Tensors.toFloats(a.kCache()));
            assertArrayEquals(new float[] {0, 0, 2, 1}, Tensors.toFloats(a.vCache()));
        }
    }

    @Test
    void badSlotIsRejectedBeforeAnythingIsWritten() {
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            for (int bad : new int[] {4, -2}) {
                KvCacheWrite a = args(b, DType.F32, DType.F32, new float[] {1, 2}, new float[] {3, 4},
                        new int[] {0, bad}, 2, 2, 1, 1, 7f);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.kvCacheWrite(a));
                assertTrue(e.getMessage().contains("slotMapping[1] = " + bad), e.getMessage());
                assertArrayEquals(new float[] {7, 7, 7, 7}, Tensors.toFloats(a.kCache()));
            }
        }
    }

    @Test
    void simdMatchesScalarBitForBitForEveryDtypePair() {
        SplittableRandom r = new SplittableRandom(3);
        int t = 1200, blocks = 200, bs = 7, hk = 3, d = 11; // width 33: vector loops with tails; 39600 values: parallel path
        int[] slots = new int[t];
        for (int i = 0; i < t; i++) {
            slots[i] = r.nextInt(10) == 0 ? -1 : r.nextInt(blocks * bs);
        }
        float[] k = new float[t * hk * d], v = new float[t * hk * d];
        for (int i = 0; i < k.length; i++) {
            k[i] = (float) r.nextDouble(-70000, 70000) * (r.nextBoolean() ? 1 : 1e-9f);
            v[i] = i % 97 == 0 ? Float.NaN : (float) r.nextGaussian();
        }
        for (DType src : FLOATS) {
            for (DType cache : FLOATS) {
                KvCacheWrite a = args(SCALAR, src, cache, k, v, slots, blocks, bs, hk, d, -1f);
                KvCacheWrite c = args(SIMD, src, cache, k, v, slots, blocks, bs, hk, d, -1f);
                SCALAR.kvCacheWrite(a);
                SIMD.kvCacheWrite(c);
                assertArrayEquals(Tensors.toBytes(a.kCache()), Tensors.toBytes(c.kCache()), src + "→" + cache);
                assertArrayEquals(Tensors.toBytes(a.vCache()), Tensors.toBytes(c.vCache()), src + "→" + cache);
            }
        }
    }

    @Test
    void cacheViewsAtAnOffsetAreWrittenInPlace() {
        // the cache may be a slice of a larger pool (e.g. one layer's part): offsets must be honoured
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            Tensor pool = Tensors.fromFloats(b, DType.BF16, new float[4 * 2 * 8], 4, 2, 1, 8);
            Tensor kc = pool.slice(2, 2);
            Tensor vc = pool.slice(0, 2);
            float[] k = {1, 2, 3, 4, 5, 6, 7, 8};
            b.kvCacheWrite(new KvCacheWrite(Tensors.fromFloats(b, DType.F32, k, 1, 8),
                    Tensors.fromFloats(b, DType.F32, k, 1, 8), kc, vc, Tensors.fromInts(b, new int[] {3}, 1)));
            float[] all = Tensors.toFloats(pool);
            for (int i = 0; i < 8; i++) {
                assertEquals(k[i], all[(2 * 2 + 3) * 8 + i]);
                assertEquals(k[i], all[3 * 8 + i]);
            }
            assertEquals(16, java.util.stream.IntStream.range(0, all.length).filter(i -> all[i] != 0).count());
        }
    }
}
