package dev.jvllm.models.quant;

import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.models.loader.CheckpointTensor;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * The host-side rewrites from checkpoint layouts to the linear op's internal ones, for one shard:
 * rows [r0, r0+rows) of the tensor's N output rows (N = {@code n}) and input columns
 * [c0, c0+cols) of K (= {@code k}). Pure functions over checkpoint bytes: they read the slice
 * they need, unpack nothing more than that slice, and never produce f32 weights.
 *
 * <p>Internal int4 layout (LinearWeight.Int4): word {@code [n, k/8]} holds q(n, k) in bits
 * {@code 4·(k % 8)}. GPTQ stores the same words transposed ({@code [K/8, N]}); AWQ stores
 * {@code [K, N/8]} with column {@code 8w + j} of word w in nibble {@link #AWQ_NIBBLE}[j];
 * compressed-tensors stores exactly the internal layout.
 */
final class Repack {
    private Repack() {
    }

    static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;
    static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED;
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** AutoAWQ packs columns 0,2,4,6,1,3,5,7 into nibbles 0..7; column j therefore sits in nibble AWQ_NIBBLE[j]. */
    static final int[] AWQ_NIBBLE = {0, 4, 1, 5, 2, 6, 3, 7};

    /** One shard's rows and this rank's columns of a checkpoint matrix with n rows and k columns. */
    record Slice(int n, int r0, int rows, int k, int c0, int cols) {
    }

    /** Group scales/zero points of a shard: [rows, groups] and the group of each column. */
    record Groups(int first, int count, int size, int[] gIdx) {
    }

    // ---- element reads (little-endian, unaligned, any offset) ----

    static int i32(CheckpointTensor t, long i) {
        return t.data().get(I32, 4 * i);
    }

    /** Element i of an integer tensor (I32 or I64). */
    static long integer(CheckpointTensor t, long i) {
        return switch (t.dtype()) {
            case I32 -> t.data().get(I32, 4 * i);
            case I64 -> t.data().get(I64, 8 * i);
            default -> throw new IllegalStateException(t.dtype().name());
        };
    }

    /** Element i of a float tensor in f32 (exact for F16/BF16). */
    static float real(CheckpointTensor t, long i) {
        return switch (t.dtype()) {
            case F32 -> t.data().get(F32, 4 * i);
            case F16 -> Numerics.f16ToF32(t.data().get(I16, 2 * i));
            case BF16 -> Numerics.bf16ToF32(t.data().get(I16, 2 * i));
            default -> throw new IllegalStateException(t.dtype().name());
        };
    }

    // ---- shape checks: every message names the tensor, its shape, the expectation and the reason ----

    static void expect(CheckpointTensor t, String why, long... shape) {
        if (!Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException("tensor " + t.name() + " has shape " + t.shapeString() + ", expected "
                    + Arrays.toString(shape) + " (" + why + ")");
        }
    }

    static void expectDType(CheckpointTensor t, String why, DType... allowed) {
        for (DType d : allowed) {
            if (t.dtype() == d) {
                return;
            }
        }
        throw new IllegalArgumentException("tensor " + t.name() + " is " + t.dtype() + ", expected "
                + (allowed.length == 1 ? allowed[0] : Arrays.toString(allowed)) + " (" + why + ")");
    }

    static void expectFloat(CheckpointTensor t, String why) {
        expectDType(t, why, DType.F32, DType.F16, DType.BF16);
    }

    // ---- groups ----

    /**
     * Which groups a shard's columns use. Sequential groups (no g_idx, or a g_idx equal to
     * k / groupSize on this rank's columns) select the contiguous range the columns cover, which
     * must start on a group boundary; an act-order g_idx keeps every group and this rank's slice
     * of g_idx, as vLLM does for row-parallel act-order layers.
     *
     * @param groupSize -1: one group over all of K (every rank shares it)
     * @param gIdx      the checkpoint's g_idx [K] or null
     */
    static Groups groups(String layer, Slice s, int groupSize, CheckpointTensor gIdx, int totalGroups) {
        if (groupSize == -1) {
            return new Groups(0, 1, s.cols(), null);
        }
        int[] slice = null;
        if (gIdx != null) {
            slice = new int[s.cols()];
            boolean sequential = s.c0() % groupSize == 0;
            for (int j = 0; j < s.cols(); j++) {
                long g = integer(gIdx, s.c0() + j);
                if (g < 0 || g >= totalGroups) {
                    throw new IllegalArgumentException("tensor " + gIdx.name() + "[" + (s.c0() + j) + "] = " + g
                            + " is outside [0, " + totalGroups + "): the scales have one row per group");
                }
                slice[j] = (int) g;
                sequential &= g == (s.c0() + j) / groupSize;
            }
            if (!sequential) {
                return new Groups(0, totalGroups, groupSize, slice);
            }
        }
        if (s.c0() % groupSize != 0 || (s.cols() % groupSize != 0 && s.c0() + s.cols() != s.k())) {
            throw new IllegalArgumentException(layer + ": this rank's input columns [" + s.c0() + ", "
                    + (s.c0() + s.cols()) + ") of " + s.k() + " do not fall on quantization group boundaries (group_size="
                    + groupSize + "); choose a tensor_parallel_size that splits " + s.k() + " into multiples of "
                    + groupSize);
        }
        int first = s.c0() / groupSize;
        int end = Math.ceilDiv(s.c0() + s.cols(), groupSize);
        return new Groups(first, end - first, groupSize, null);
    }

    /** Checks that an unused g_idx is the sequential k / groupSize (desc_act false means the checkpoint promised it). */
    static void checkSequential(CheckpointTensor gIdx, int k, int groupSize, String configField) {
        expect(gIdx, "one group index per input column", k);
        expectDType(gIdx, "group indices", DType.I32, DType.I64);
        for (int j = 0; j < k; j++) {
            long want = groupSize == -1 ? 0 : j / groupSize;
            long got = integer(gIdx, j);
            if (got != want) {
                throw new IllegalArgumentException("tensor " + gIdx.name() + "[" + j + "] = " + got + ", but " + configField
                        + " in the quantization config says the groups are sequential (expected " + want
                        + "); set act-order in the config (desc_act: true / actorder: \"group\") for this checkpoint");
            }
        }
    }

    // ---- int4 ----

    /** Internal qweight [rows, cols/8] from GPTQ's [K/8, N]: a transpose of whole words. */
    static int[] gptqQweight(CheckpointTensor q, Slice s) {
        int words = s.cols() / 8;
        int[] out = new int[s.rows() * words];
        for (int r = 0; r < s.rows(); r++) {
            for (int w = 0; w < words; w++) {
                out[r * words + w] = i32(q, (long) (s.c0() / 8 + w) * s.n() + s.r0() + r);
            }
        }
        return out;
    }

    /** Internal qweight [rows, cols/8] from AWQ's [K, N/8] in AWQ nibble order. */
    static int[] awqQweight(CheckpointTensor q, Slice s) {
        int words = s.cols() / 8;
        int nWords = s.n() / 8;
        int[] out = new int[s.rows() * words];
        for (int r = 0; r < s.rows(); r++) {
            int n = s.r0() + r;
            int shift = 4 * AWQ_NIBBLE[n % 8];
            for (int kk = 0; kk < s.cols(); kk++) {
                int v = (i32(q, (long) (s.c0() + kk) * nWords + n / 8) >>> shift) & 0xF;
                out[r * words + kk / 8] |= v << (4 * (kk % 8));
            }
        }
        return out;
    }

    /** Internal qweight [rows, cols/8] from compressed-tensors' [N, K/8] (the same layout: a row/column slice). */
    static int[] packedQweight(CheckpointTensor q, Slice s) {
        int words = s.cols() / 8;
        int rowWords = s.k() / 8;
        int[] out = new int[s.rows() * words];
        for (int r = 0; r < s.rows(); r++) {
            for (int w = 0; w < words; w++) {
                out[r * words + w] = i32(q, (long) (s.r0() + r) * rowWords + s.c0() / 8 + w);
            }
        }
        return out;
    }

    /** Scales [rows, g.count] from a [G, N] tensor (GPTQ, AWQ): transposed. */
    static float[] scalesGroupMajor(CheckpointTensor t, Slice s, Groups g) {
        float[] out = new float[s.rows() * g.count()];
        for (int r = 0; r < s.rows(); r++) {
            for (int j = 0; j < g.count(); j++) {
                out[r * g.count() + j] = real(t, (long) (g.first() + j) * s.n() + s.r0() + r);
            }
        }
        return out;
    }

    /** Scales [rows, g.count] from an [N, G] tensor (compressed-tensors). */
    static float[] scalesRowMajor(CheckpointTensor t, Slice s, Groups g, int totalGroups) {
        float[] out = new float[s.rows() * g.count()];
        for (int r = 0; r < s.rows(); r++) {
            for (int j = 0; j < g.count(); j++) {
                out[r * g.count() + j] = real(t, (long) (s.r0() + r) * totalGroups + g.first() + j);
            }
        }
        return out;
    }

    /**
     * Zero points [rows, g.count] (0..16) from 4-bit values packed along N: GPTQ {@code qzeros [G, N/8]}
     * (nibble n % 8, plus {@code offset} = 1 for GPTQ v1, which stores zero − 1), AWQ (nibble
     * AWQ_NIBBLE[n % 8]), or compressed-tensors {@code weight_zero_point [N/8, G]} (transposed).
     */
    static byte[] zeros4(CheckpointTensor t, Slice s, Groups g, LinearScheme.Packing packing, int offset, int totalGroups) {
        byte[] out = new byte[s.rows() * g.count()];
        int nWords = Math.ceilDiv(s.n(), 8);
        for (int r = 0; r < s.rows(); r++) {
            int n = s.r0() + r;
            int shift = 4 * (packing == LinearScheme.Packing.AWQ ? AWQ_NIBBLE[n % 8] : n % 8);
            for (int j = 0; j < g.count(); j++) {
                int group = g.first() + j;
                long word = packing == LinearScheme.Packing.PACKED ? (long) (n / 8) * totalGroups + group
                        : (long) group * nWords + n / 8;
                out[r * g.count() + j] = (byte) (((i32(t, word) >>> shift) & 0xF) + offset);
            }
        }
        return out;
    }

    /** True when every zero point is 8, the symmetric int4 zero: the weight needs no zeros tensor. */
    static boolean allSymmetric(byte[] zeros) {
        for (byte z : zeros) {
            if (z != 8) {
                return false;
            }
        }
        return true;
    }

    // ---- int8 ----

    /** I8 [rows, cols] from compressed-tensors 8-bit pack-quantized [N, K/4] (4 bytes per word, signed + 128). */
    static byte[] packedInt8(CheckpointTensor q, Slice s) {
        byte[] out = new byte[s.rows() * s.cols()];
        for (int r = 0; r < s.rows(); r++) {
            long base = (long) (s.r0() + r) * s.k() + s.c0(); // little-endian words: byte j of a row is column j
            for (int c = 0; c < s.cols(); c++) {
                out[r * s.cols() + c] = (byte) (q.data().get(ValueLayout.JAVA_BYTE, base + c) ^ 0x80);
            }
        }
        return out;
    }

    /**
     * I8 [rows, cols] from GPTQ 8-bit {@code qweight [K/4, N]} and its zero point, which must be the
     * symmetric 128 (the int8 linear op has no zero points): w = q − 128.
     */
    static byte[] gptqInt8(CheckpointTensor q, CheckpointTensor qzeros, Slice s, int offset) {
        for (int r = 0; r < s.rows(); r++) {
            int n = s.r0() + r;
            int z = ((i32(qzeros, n / 4) >>> (8 * (n % 4))) & 0xFF) + offset;
            if (z != 128) {
                throw new IllegalArgumentException("tensor " + qzeros.name() + ": output " + n + " has zero point " + z
                        + "; 8-bit GPTQ loads only with symmetric zero points (128): the int8 linear op has no zero "
                        + "points (use a sym=true or a 4-bit checkpoint)");
            }
        }
        byte[] out = new byte[s.rows() * s.cols()];
        for (int r = 0; r < s.rows(); r++) {
            for (int c = 0; c < s.cols(); c++) {
                int k = s.c0() + c;
                int v = (i32(q, (long) (k / 4) * s.n() + s.r0() + r) >>> (8 * (k % 4))) & 0xFF;
                out[r * s.cols() + c] = (byte) (v - 128);
            }
        }
        return out;
    }

    /** Per-row f32 scales [rows] from a per-channel tensor of numel N ([N], [N, 1] or GPTQ's [1, N]). */
    static float[] channelScales(CheckpointTensor t, Slice s) {
        float[] out = new float[s.rows()];
        for (int r = 0; r < s.rows(); r++) {
            out[r] = real(t, s.r0() + r);
        }
        return out;
    }

    // ---- fp8 ----

    /** Block scales [ceil(rows/bn), ceil(cols/bk)] of a shard whose rows and columns start on block boundaries. */
    static float[] blockScales(String layer, CheckpointTensor t, Slice s, int bn, int bk) {
        boolean rowsAligned = s.r0() % bn == 0 && (s.rows() % bn == 0 || s.r0() + s.rows() == s.n());
        boolean colsAligned = s.c0() % bk == 0 && (s.cols() % bk == 0 || s.c0() + s.cols() == s.k());
        if (!rowsAligned || !colsAligned) {
            throw new IllegalArgumentException(layer + ": this rank's part (rows [" + s.r0() + ", " + (s.r0() + s.rows())
                    + ") of " + s.n() + ", columns [" + s.c0() + ", " + (s.c0() + s.cols()) + ") of " + s.k()
                    + ") does not start and end on the " + bn + "x" + bk + " scale blocks of weight_block_size; choose a "
                    + "tensor_parallel_size that splits the layer into multiples of the block size");
        }
        int br = Math.ceilDiv(s.rows(), bn);
        int bc = Math.ceilDiv(s.cols(), bk);
        int cols = Math.ceilDiv(s.k(), bk);
        float[] out = new float[br * bc];
        for (int i = 0; i < br; i++) {
            for (int j = 0; j < bc; j++) {
                out[i * bc + j] = real(t, (long) (s.r0() / bn + i) * cols + s.c0() / bk + j);
            }
        }
        return out;
    }
}
