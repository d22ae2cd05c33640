package dev.jvllm.models.quant;

import static org.junit.jupiter.api.Assertions.*;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

import dev.jvllm.api.DType;
import dev.jvllm.models.loader.CheckpointTensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Every checkpoint layout, packed by {@link QuantPacking} (the encoders written from the published
 * formats: AutoGPTQ's pack, AutoAWQ's pack with order 0,2,4,6,1,3,5,7, compressed-tensors'
 * pack_to_int32, which random quantized checkpoints are written with), repacks to the internal
 * layout of exactly the same values, for random shapes and for any rank's slice of rows and columns.
 */
class RepackTest {

    static CheckpointTensor ints(String name, int[] words, long... shape) {
        MemorySegment s = Arena.ofAuto().allocate(4L * words.length);
        MemorySegment.copy(words, 0, s, ValueLayout.JAVA_INT_UNALIGNED, 0, words.length);
        return new CheckpointTensor(name, DType.I32, shape, s, Path.of("test.safetensors"));
    }

    /** A random matrix shape (multiples of 8), its values and a random rank's slice of it. */
    record Case(int n, int k, int r0, int rows, int c0, int cols, int[][] q, SplittableRandom r) {
        static Case of(int n8, int k8, long seed, int maxValue) {
            SplittableRandom r = new SplittableRandom(seed);
            int n = 8 * n8, k = 8 * k8;
            int r0 = r.nextInt(n), rows = 1 + r.nextInt(n - r0);
            int c0 = 8 * r.nextInt(k8), cols = 8 * (1 + r.nextInt(k8 - c0 / 8));
            int[][] q = new int[n][k];
            for (int[] row : q) {
                for (int j = 0; j < k; j++) {
                    row[j] = r.nextInt(maxValue + 1);
                }
            }
            return new Case(n, k, r0, rows, c0, cols, q, r);
        }

        Repack.Slice slice() {
            return new Repack.Slice(n, r0, rows, k, c0, cols);
        }

        /** The values, row-major [n, k]. */
        int[] flat() {
            int[] f = new int[n * k];
            for (int r = 0; r < n; r++) {
                System.arraycopy(q[r], 0, f, r * k, k);
            }
            return f;
        }

        /** The internal layout of the slice: word [r, w] holds q[r0 + r][c0 + 8w + i] in nibble i. */
        int[] internal() {
            int words = cols / 8;
            int[] out = new int[rows * words];
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < cols; j++) {
                    out[r * words + j / 8] |= q[r0 + r][c0 + j] << (4 * (j % 8));
                }
            }
            return out;
        }
    }

    @Test
    void everyInt4LayoutRepacksToTheInternalOne() {
        qt().withExamples(200).withFixedSeed(11).forAll(integers().between(1, 5), integers().between(1, 8),
                longs().all()).checkAssert((n8, k8, seed) -> {
                    Case c = Case.of(n8, k8, seed, 15);
                    int n = c.n(), k = c.k();
                    int[] gptq = QuantPacking.transpose(QuantPacking.packRows(c.flat(), n, k, 4), n, k / 8); // [K/8, N]
                    int[] awq = QuantPacking.packRowsAwq(QuantPacking.transpose(c.flat(), n, k), k, n); // [K, N/8]
                    int[] ct = QuantPacking.packRows(c.flat(), n, k, 4); // [N, K/8]
                    String what = "N=" + n + " K=" + k + " rows [" + c.r0() + "+" + c.rows() + ") cols [" + c.c0() + "+"
                            + c.cols() + ")";
                    assertArrayEquals(c.internal(), Repack.gptqQweight(ints("q", gptq, k / 8, n), c.slice()), "gptq " + what);
                    assertArrayEquals(c.internal(), Repack.awqQweight(ints("q", awq, k, n / 8), c.slice()), "awq " + what);
                    assertArrayEquals(c.internal(), Repack.packedQweight(ints("q", ct, n, k / 8), c.slice()), "ct " + what);
                });
    }

    @Test
    void zeroPointsOfEveryLayoutUnpackPerRowAndGroup() {
        qt().withExamples(200).withFixedSeed(12).forAll(integers().between(1, 5), integers().between(1, 4),
                longs().all()).checkAssert((n8, groups, seed) -> {
                    Case c = Case.of(n8, 1, seed, 15);
                    int n = c.n();
                    int[][] z = new int[n][groups];
                    for (int[] row : z) {
                        for (int g = 0; g < groups; g++) {
                            row[g] = 1 + c.r().nextInt(15); // GPTQ v1 stores z - 1, which must not be negative
                        }
                    }
                    int[] zFlat = new int[n * groups];
                    int[] stored = new int[n * groups]; // GPTQ v1: zero - 1
                    for (int row = 0; row < n; row++) {
                        for (int g = 0; g < groups; g++) {
                            zFlat[row * groups + g] = z[row][g];
                            stored[row * groups + g] = z[row][g] - 1;
                        }
                    }
                    int[] gptq = QuantPacking.packRows(QuantPacking.transpose(stored, n, groups), groups, n, 4); // [G, N/8]
                    int[] awq = QuantPacking.packRowsAwq(QuantPacking.transpose(zFlat, n, groups), groups, n);
                    int[] ct = QuantPacking.transpose(QuantPacking.packRows(QuantPacking.transpose(zFlat, n, groups),
                            groups, n, 4), groups, n / 8); // [N/8, G]
                    Repack.Groups all = new Repack.Groups(0, groups, 8, null);
                    byte[] want = new byte[c.rows() * groups];
                    for (int r = 0; r < c.rows(); r++) {
                        for (int g = 0; g < groups; g++) {
                            want[r * groups + g] = (byte) z[c.r0() + r][g];
                        }
                    }
                    Repack.Slice s = c.slice();
                    assertArrayEquals(want, Repack.zeros4(ints("z", gptq, groups, n / 8), s, all,
                            LinearScheme.Packing.GPTQ, 1, groups), "gptq v1");
                    assertArrayEquals(want, Repack.zeros4(ints("z", awq, groups, n / 8), s, all,
                            LinearScheme.Packing.AWQ, 0, groups), "awq");
                    assertArrayEquals(want, Repack.zeros4(ints("z", ct, n / 8, groups), s, all,
                            LinearScheme.Packing.PACKED, 0, groups), "compressed-tensors");
                });
    }

    @Test
    void int8LayoutsRepackToSignedBytes() {
        qt().withExamples(100).withFixedSeed(13).forAll(integers().between(1, 5), integers().between(1, 8),
                longs().all()).checkAssert((n8, k8, seed) -> {
                    Case c = Case.of(n8, k8, seed, 255); // unsigned: signed + 128
                    int n = c.n(), k = c.k();
                    int[] ct = QuantPacking.packRows(c.flat(), n, k, 8); // [N, K/4]
                    int[] gptq = QuantPacking.transpose(ct, n, k / 4); // [K/4, N]
                    int[] zeros = new int[Math.ceilDiv(n, 4)];
                    java.util.Arrays.fill(zeros, 0x7F7F7F7F); // v1: 128 - 1 in every byte
                    byte[] want = new byte[c.rows() * c.cols()];
                    for (int r = 0; r < c.rows(); r++) {
                        for (int j = 0; j < c.cols(); j++) {
                            want[r * c.cols() + j] = (byte) (c.q()[c.r0() + r][c.c0() + j] - 128);
                        }
                    }
                    assertArrayEquals(want, Repack.packedInt8(ints("w", ct, n, k / 4), c.slice()));
                    assertArrayEquals(want, Repack.gptqInt8(ints("w", gptq, k / 4, n), ints("z", zeros, 1, zeros.length),
                            c.slice(), 1));
                });
    }

    @Test
    void gptqInt8WithAsymmetricZerosFailsNamingTheFix() {
        int[] q = new int[8];
        var e = assertThrows(IllegalArgumentException.class, () -> Repack.gptqInt8(ints("m.qweight", q, 1, 8),
                ints("m.qzeros", new int[] {0x7F7F7F7F, 0x7F7F7F10}, 1, 2), new Repack.Slice(8, 0, 8, 4, 0, 4), 1));
        assertTrue(e.getMessage().contains("m.qzeros") && e.getMessage().contains("symmetric"), e.getMessage());
    }

    @Test
    void groupsOfARankSliceStartOnBoundariesOrKeepAnActOrderGIdx() {
        Repack.Slice half = new Repack.Slice(8, 0, 8, 128, 64, 64);
        Repack.Groups seq = Repack.groups("l", half, 32, null, 4);
        assertEquals(2, seq.first());
        assertEquals(2, seq.count());
        assertNull(seq.gIdx());
        // one group over all of K: every rank uses it
        Repack.Groups whole = Repack.groups("l", half, -1, null, 1);
        assertEquals(0, whole.first());
        assertEquals(1, whole.count());
        assertEquals(64, whole.size());
        // act-order: all groups stay, g_idx is sliced
        int[] g = new int[128];
        for (int j = 0; j < 128; j++) {
            g[j] = (j * 7) % 4;
        }
        Repack.Groups act = Repack.groups("l", half, 32, ints("l.g_idx", g, 128), 4);
        assertEquals(4, act.count());
        assertArrayEquals(java.util.Arrays.copyOfRange(g, 64, 128), act.gIdx());
        // a sequential g_idx is recognised and dropped
        int[] s = new int[128];
        for (int j = 0; j < 128; j++) {
            s[j] = j / 32;
        }
        assertNull(Repack.groups("l", half, 32, ints("l.g_idx", s, 128), 4).gIdx());
        var e = assertThrows(IllegalArgumentException.class,
                () -> Repack.groups("model.x", new Repack.Slice(8, 0, 8, 96, 48, 48), 32, null, 3));
        assertTrue(e.getMessage().contains("model.x") && e.getMessage().contains("group_size=32")
                && e.getMessage().contains("tensor_parallel_size"), e.getMessage());
        int[] bad = s.clone();
        bad[70] = 9;
        var e2 = assertThrows(IllegalArgumentException.class, () -> Repack.groups("l", half, 32, ints("l.g_idx", bad, 128), 4));
        assertTrue(e2.getMessage().contains("l.g_idx[70] = 9"), e2.getMessage());
        var e3 = assertThrows(IllegalArgumentException.class, () -> Repack.checkSequential(ints("l.g_idx", g, 128), 128, 32,
                "desc_act"));
        assertTrue(e3.getMessage().contains("desc_act") && e3.getMessage().contains("l.g_idx[1]"), e3.getMessage());
    }
}
