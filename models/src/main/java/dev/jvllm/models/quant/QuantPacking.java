package dev.jvllm.models.quant;

/**
 * Encoders of the published packed-integer layouts, the inverse of {@link Repack}: what AutoGPTQ's
 * {@code pack}, AutoAWQ's GEMM {@code pack} (column order 0,2,4,6,1,3,5,7) and compressed-tensors'
 * {@code pack_to_int32} write. Written from the formats, independently of {@link Repack}'s readers
 * (RepackTest holds the two against each other), and used to write random quantized checkpoints.
 *
 * <p>Matrices are row-major {@code int[]} of unsigned values (0..2^bits − 1).
 */
public final class QuantPacking {
    private QuantPacking() {
    }

    /** Nibble i of an AWQ word holds column {@code AWQ_ORDER[i]} of its 8 (the inverse of Repack's AWQ_NIBBLE). */
    static final int[] AWQ_ORDER = {0, 2, 4, 6, 1, 3, 5, 7};

    /**
     * Packs each row of {@code q} [rows, cols] along its columns: word {@code [r, j / per]} holds
     * {@code q[r, j]} in bits {@code bits·(j % per)}, per = 32 / bits; a short last word is zero-padded.
     *
     * @return [rows, ceil(cols / per)]
     */
    public static int[] packRows(int[] q, int rows, int cols, int bits) {
        int per = 32 / bits;
        int words = Math.ceilDiv(cols, per);
        int mask = (1 << bits) - 1;
        int[] out = new int[rows * words];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < cols; j++) {
                int v = q[r * cols + j];
                if ((v & ~mask) != 0) {
                    throw new IllegalArgumentException("value " + v + " at [" + r + ", " + j + "] does not fit " + bits + " bits");
                }
                out[r * words + j / per] |= v << (bits * (j % per));
            }
        }
        return out;
    }

    /** AWQ's GEMM packing of {@code q} [rows, cols] (cols a multiple of 8): word {@code [r, w]} nibble i = q[r, 8w + AWQ_ORDER[i]]. */
    public static int[] packRowsAwq(int[] q, int rows, int cols) {
        if (cols % 8 != 0) {
            throw new IllegalArgumentException("AWQ packs 8 columns per word; " + cols + " is not a multiple of 8");
        }
        int[] reordered = new int[q.length];
        for (int r = 0; r < rows; r++) {
            for (int w = 0; w < cols / 8; w++) {
                for (int i = 0; i < 8; i++) {
                    reordered[r * cols + 8 * w + i] = q[r * cols + 8 * w + AWQ_ORDER[i]];
                }
            }
        }
        return packRows(reordered, rows, cols, 4);
    }

    /** The transpose [cols, rows] of {@code m} [rows, cols]. */
    public static int[] transpose(int[] m, int rows, int cols) {
        int[] t = new int[m.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                t[c * rows + r] = m[r * cols + c];
            }
        }
        return t;
    }
}
