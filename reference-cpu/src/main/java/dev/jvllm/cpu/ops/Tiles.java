package dev.jvllm.cpu.ops;

import dev.jvllm.cpu.Parallel;

/**
 * A fixed cut of row-wise and elementwise work for the SIMD kernels.
 *
 * <p>Elementwise work over {@code [rows, cols]} is cut into tiles: each row into pieces of at most
 * {@link #TILE_COLS} columns (the cut depends on {@code cols} only), and runs of tiles go to the
 * pool. Every output element is produced by exactly one tile with per-element math, so results are
 * bit-identical for any thread count. Each run of tiles allocates its scratch once: O(tile), never
 * per element.
 */
final class Tiles {
    private Tiles() {
    }

    /** Columns per tile: a multiple of every vector length; 2-3 scratch tiles stay in L1. */
    static final int TILE_COLS = 2048;
    /** Elements a pool task should cover at least, so that small ops run inline. */
    static final int TASK_ELEMENTS = 16384;

    /** The work of one tile: columns [c0, c1) of {@code row}, with padded scratch rows a, b, c. */
    @FunctionalInterface
    interface Body {
        void run(long row, int c0, int c1, float[] a, float[] b, float[] c);
    }

    /**
     * Runs {@code body} over every tile of a {@code [rows, cols]} elementwise op.
     *
     * @param buffers how many scratch tiles the body needs (1 to 3); the others are null
     */
    static void run(Parallel pool, long rows, int cols, int buffers, Body body) {
        if (rows == 0 || cols == 0) {
            return;
        }
        int perRow = (cols + TILE_COLS - 1) / TILE_COLS;
        int tileCols = Math.min(cols, TILE_COLS);
        int tiles = Math.toIntExact(rows * perRow);
        int len = VectorMath.padded(tileCols);
        pool.forRange(tiles, Math.max(1, TASK_ELEMENTS / tileCols), (s, e) -> {
            float[] a = new float[len];
            float[] b = buffers > 1 ? new float[len] : null;
            float[] c = buffers > 2 ? new float[len] : null;
            for (int i = s; i < e; i++) {
                int c0 = (i % perRow) * TILE_COLS;
                body.run(i / perRow, c0, Math.min(cols, c0 + TILE_COLS), a, b, c);
            }
        });
    }

    /** Rows per pool task for row-wise kernels (norms, rotary) whose rows hold {@code rowElements} values. */
    static int rowGrain(long rowElements) {
        return (int) Math.max(1, TASK_ELEMENTS / Math.max(1, rowElements));
    }
}
