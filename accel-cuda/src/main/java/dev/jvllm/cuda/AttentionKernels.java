package dev.jvllm.cuda;

import dev.jvllm.api.DType;
import dev.jvllm.api.ops.KvCacheWrite;
import dev.jvllm.api.ops.OpArgs;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.PagedAttention;
import java.util.Set;

/**
 * KV-cache write and paged attention ({@code attention.cu}).
 *
 * <p>Paged attention, flash style on CUDA cores in f32: a block takes 16 query rows (query tokens
 * of one sequence x the query heads of one KV head), streams the sequence's allowed keys through
 * shared memory in tiles of 8 (each K/V row loaded once for the whole group, the next tile fetched
 * while the current one is computed) with an online softmax per row. When those blocks would not
 * fill the device (decodes), the keys are split into up to 64 ranges whose partial results
 * {@code attn_merge} combines. Batches of decodes only (at most one query per sequence) with 1, 2, 4
 * or 8 query heads per KV head, large enough to fill the device with one block per (sequence, KV
 * head), take the decode form instead ({@code attn_decode_*}: 32 keys per warp at a time, one key
 * per lane; see {@link #decode}). Decode batches over an f16/bf16 cache with head sizes 8..128 (whole
 * 16-byte rows) take the vector decode form at any batch size ({@code attn_decode_<cache>_g<G>_d<64|128>},
 * {@link #decodeVec}: a tile's key and value rows all in flight at once, key splits only past 256
 * keys per (sequence, KV head) block). Timings against the floors: docs/conformance/cuda-perf.md. Any mix of prefills, chunked prefills
 * and decodes, GQA, sliding window, soft-cap, head sizes up to 256, any block size, cache
 * F32/F16/BF16. The first form (one block per query token and head, {@code attn_paged_*}) stays as
 * the cross-check ({@code -Djvllm.cuda.attention=simple}) and for grids past the flash form's limits.
 */
final class AttentionKernels implements KernelFamily {
    /** Largest head size the attention kernels hold in registers (attention.cu MAX_PER_LANE, FC). */
    static final int MAX_HEAD_SIZE = 256;
    /** attention.cu FR and FK: query rows per block and keys per tile of the flash form. */
    private static final int FLASH_ROWS = 16;
    private static final int FLASH_KEYS = 8;
    private static final int MAX_SPLITS = 64;
    /**
     * Fewest keys per split of a decode. A block walks its keys tile by tile, so short contexts need
     * splits too: with 256 keys per split a 192-token batch-1 decode of Llama-3.2-1B ran one block per
     * KV head, 47 µs per layer on an H200 (CudaOpsBench decode); with 32, six splits of four tiles
     * plus the merge, 21 µs.
     */
    private static final int MIN_SPLIT_KEYS = 32;
    /** attention.cu DW: warps per block of the decode form, each taking 32 keys at a time. */
    private static final int DECODE_WARPS = 4;
    /** Fewest keys per split of the decode form: two passes of its four warps. */
    private static final int MIN_DECODE_SPLIT_KEYS = 256;
    /** attention.cu VW: warps per block of the vector decode form, each taking 32 keys at a time. */
    private static final int VECTOR_DECODE_WARPS = 8;
    /** {@code -Djvllm.cuda.attention=decode}: the decode form where the vector decode form would run (comparisons). */
    private static final boolean VECTOR_DECODE = !"decode".equals(System.getProperty("jvllm.cuda.attention"));
    /** {@code -Djvllm.cuda.attention=simple} runs the one-block-per-(token, head) kernel instead (cross-checks). */
    private static final boolean SIMPLE = "simple".equals(System.getProperty("jvllm.cuda.attention"));
    /** {@code -Djvllm.cuda.attention=flash}: decode batches take the flash form too (comparisons of the two forms). */
    private static final boolean DECODE_FORM = !"flash".equals(System.getProperty("jvllm.cuda.attention"));
    static final int WRITE_DETAIL = 1;

    private final Gpu gpu;

    AttentionKernels(Gpu gpu) {
        this.gpu = gpu;
    }

    @Override
    public Set<OpKind> ops() {
        return Set.of(OpKind.KV_CACHE_WRITE, OpKind.PAGED_ATTENTION);
    }

    @Override
    public boolean supports(OpArgs args) {
        return switch (args) {
            case KvCacheWrite a -> ElementwiseKernels.floats(a.k(), a.v(), a.kCache(), a.vCache());
            case PagedAttention a -> ElementwiseKernels.floats(a.q(), a.out(), a.kCache())
                    && a.kCache().dtype() == a.vCache().dtype() && a.headSize() <= MAX_HEAD_SIZE && a.blockSize() > 0;
            default -> false;
        };
    }

    @Override
    public void run(OpArgs args) {
        switch (args) {
            case KvCacheWrite a -> write(a);
            case PagedAttention a -> attend(a);
            default -> throw new IllegalArgumentException("attention: " + args.kind().id());
        }
    }

    private void write(KvCacheWrite a) {
        int tokens = a.slotMapping().dim(0);
        int width = a.kCache().dim(2) * a.kCache().dim(3);
        long capacity = (long) a.kCache().dim(0) * a.kCache().dim(1);
        if (tokens == 0 || width == 0) {
            return;
        }
        gpu.kernel("attn_kv_write").dependent().grid(tokens).block(Math.min(256, Math.max(32, (width + 31) / 32 * 32)))
                .view(a.k()).view(a.v()).view(a.kCache(), width).view(a.vCache(), width).ptr(a.slotMapping())
                .i32(tokens).i32(width).i64(capacity).ptr(gpu.errorWord())
                .i32(DeviceErrors.code(OpKind.KV_CACHE_WRITE, WRITE_DETAIL)).launch();
    }

    private void attend(PagedAttention a) {
        int tokens = a.q().dim(0);
        if (tokens == 0) {
            return;
        }
        int group = a.numHeads() / a.numKvHeads();
        // decodes: the vector form where it applies (graph replay of a whole Llama-3.2-1B-shaped step on
        // an H200, against the decode / flash forms: batch 1 at 192 tokens 1.276 against 1.497 / 1.496 ms,
        // at 2048 1.458 against 1.886 / 1.886, batch 64 at 192 1.685 against 2.582 / 2.979;
        // docs/performance.md run 7); else the decode form when its (sequence, KV head) blocks fill the
        // device, and below that the flash form's key splits spread a few sequences better
        boolean decodeBatch = !SIMPLE && DECODE_FORM && a.maxQueryLen() == 1 && a.maxSeqLen() > 0 && decodeGroup(group);
        if (decodeBatch && VECTOR_DECODE && vectorDecode(a)) {
            decodeVec(a, tokens, group);
            return;
        }
        if (decodeBatch && (long) a.numSeqs() * a.numKvHeads() >= gpu.multiprocessors()) {
            decode(a, tokens, group);
            return;
        }
        long qTiles = ((long) a.maxQueryLen() * group + FLASH_ROWS - 1) / FLASH_ROWS;
        long work = (long) a.numSeqs() * a.numKvHeads() * qTiles;
        // the keys split when the blocks would not fill the device (decodes): about 4 blocks per SM
        int[] sc = keySplits(work, 4L * gpu.multiprocessors(), a.maxSeqLen(), MIN_SPLIT_KEYS, FLASH_KEYS);
        int splits = sc[0], chunk = sc[1];
        boolean flash = !SIMPLE && qTiles * splits <= 65535;
        gpu.kernel("attn_zero_padding").grid(tokens).block(128)
                .view(a.out()).ptr(a.queryStartLoc()).i32(a.numSeqs()).i32(a.out().cols()).launch();
        if (work == 0) {
            return; // no sequence has a query: every row was padding
        }
        if (!flash) {
            simple(a, tokens);
            return;
        }
        try (Partials p = new Partials(a, tokens, splits)) {
            int paddedRow = a.headSize() + (36 - a.headSize() % 32) % 32; // attention.cu SD
            int shared = ((FLASH_ROWS + 2 * FLASH_KEYS) * paddedRow + FLASH_ROWS * FLASH_KEYS) * Float.BYTES;
            gpu.kernel(switch (a.kCache().dtype()) {
                case F32 -> "attn_flash_f32";
                case F16 -> "attn_flash_f16";
                case BF16 -> "attn_flash_bf16";
                default -> throw new IllegalArgumentException("paged_attention: cache " + a.kCache().describe());
            }).grid(a.numSeqs(), a.numKvHeads(), qTiles * splits).block(FLASH_ROWS * FLASH_KEYS).sharedBytes(shared)
                    .view(a.q()).view(a.kCache()).view(a.vCache()).view(a.out())
                    .ptr(a.queryStartLoc()).ptr(a.seqLens()).ptr(a.blockTables()).i64(a.blockTables().layout().rowStride())
                    .i32(a.numSeqs()).i32(tokens).i32(a.numHeads()).i32(a.numKvHeads()).i32(a.headSize())
                    .f32(a.scale()).i32(a.slidingWindow()).f32(a.softCap()).i32(a.blockSize()).i32(a.blockTables().cols())
                    .i32(a.kCache().dim(0)).i32(a.maxQueryLen()).i32(a.maxSeqLen()).i32((int) qTiles).i32(splits)
                    .i32(chunk).ptr(p.acc()).ptr(p.ml())
                    .ptr(gpu.errorWord()).i32(DeviceErrors.code(OpKind.PAGED_ATTENTION, 0)).launch();
            p.merge();
        }
    }

    /**
     * {splits, chunk}: key splits so that {@code work} blocks come to about {@code fill} (1 when they
     * already do), each split keeping at least {@code minKeys} keys, and the keys per split rounded up
     * to a multiple of {@code align}; splits recounted from the rounded chunk.
     */
    private static int[] keySplits(long work, long fill, int maxSeqLen, int minKeys, int align) {
        int splits = 1;
        if (work > 0 && work < fill) {
            splits = (int) Math.min(Math.min(MAX_SPLITS, (fill + work - 1) / work),
                    Math.max(1, (maxSeqLen + minKeys - 1) / minKeys));
        }
        int chunk = Math.max(align, ((maxSeqLen + splits - 1) / splits + align - 1) / align * align);
        return new int[] {Math.max(1, (maxSeqLen + chunk - 1) / chunk), chunk};
    }

    /**
     * The per-split partial results (acc [splits, tokens, heads, D], m and l [splits, tokens, heads, 2])
     * of a call whose keys are split, and their merge into out ({@code attn_merge}); nothing with one split.
     */
    private final class Partials implements AutoCloseable {
        private final PagedAttention a;
        private final int tokens;
        private final int splits;
        private final CudaTensor acc;
        private final CudaTensor ml;

        Partials(PagedAttention a, int tokens, int splits) {
            this.a = a;
            this.tokens = tokens;
            this.splits = splits;
            CudaTensor accT = null, mlT = null;
            if (splits > 1) {
                long rows = (long) splits * tokens * a.numHeads();
                accT = gpu.temp(DType.F32, Math.toIntExact(rows * a.headSize()));
                try {
                    mlT = gpu.temp(DType.F32, Math.toIntExact(rows * 2));
                } catch (RuntimeException e) {
                    accT.close();
                    throw e;
                }
            }
            this.acc = accT;
            this.ml = mlT;
        }

        long acc() {
            return acc == null ? 0 : acc.address();
        }

        long ml() {
            return ml == null ? 0 : ml.address();
        }

        /** Combines the splits' results into out (after the split kernel, on the same stream). */
        void merge() {
            if (splits > 1) {
                gpu.kernel("attn_merge").dependent().grid((long) tokens * a.numHeads())
                        .block(Math.min(256, (a.headSize() + 31) / 32 * 32))
                        .view(a.out()).ptr(acc.address()).ptr(ml.address()).ptr(a.queryStartLoc())
                        .i32(a.numSeqs()).i32(tokens).i32(a.numHeads()).i32(a.headSize()).i32(splits).launch();
            }
        }

        @Override
        public void close() {
            if (acc != null) {
                acc.close();
                ml.close();
            }
        }
    }

    /** attention.cu's decode instantiations: [F32, F16, BF16 cache][G = 1, 2, 4, 8]. */
    private static final String[][] DECODE_KERNELS = {
        {"attn_decode_f32_g1", "attn_decode_f32_g2", "attn_decode_f32_g4", "attn_decode_f32_g8"},
        {"attn_decode_f16_g1", "attn_decode_f16_g2", "attn_decode_f16_g4", "attn_decode_f16_g8"},
        {"attn_decode_bf16_g1", "attn_decode_bf16_g2", "attn_decode_bf16_g4", "attn_decode_bf16_g8"},
    };

    /** Query heads per KV head that the decode form ({@code attn_decode_*_g<G>}) has a kernel for. */
    private static boolean decodeGroup(int group) {
        return group == 1 || group == 2 || group == 4 || group == 8;
    }

    /**
     * The decode form (every sequence has at most one query): one block per (sequence, KV head, key
     * split) for the group's query heads; it also zeroes the rows of no sequence. Splits only when
     * the blocks would not fill the device and every split keeps at least {@link #MIN_DECODE_SPLIT_KEYS}.
     */
    private void decode(PagedAttention a, int tokens, int group) {
        int[] sc = keySplits((long) a.numSeqs() * a.numKvHeads(), 2L * gpu.multiprocessors(), a.maxSeqLen(),
                MIN_DECODE_SPLIT_KEYS, 32);
        int splits = sc[0], chunk = sc[1];
        int d = a.headSize();
        int esize = a.kCache().dtype().byteSize();
        boolean vec = (d * esize) % 16 == 0 && gpu.tensor(a.kCache()).address() % 16 == 0;
        int padded = (d + 7) / 8 * 8;
        int shared = (group * padded + 2 * DECODE_WARPS * group + DECODE_WARPS * group * d) * Float.BYTES;
        int cache = switch (a.kCache().dtype()) {
            case F32 -> 0;
            case F16 -> 1;
            case BF16 -> 2;
            default -> throw new IllegalArgumentException("paged_attention: cache " + a.kCache().describe());
        };
        try (Partials p = new Partials(a, tokens, splits)) {
            // one block past the sequences' (x = numSeqs) checks the metadata beside them (attention.cu decode)
            launchDecode(gpu.kernel(DECODE_KERNELS[cache][Integer.numberOfTrailingZeros(group)])
                    .grid(a.numSeqs() + 1, a.numKvHeads(), splits).block(DECODE_WARPS * 32).sharedBytes(shared),
                    a, tokens, splits, chunk, vec ? 1 : 0, p);
        }
    }

    /** attention.cu's vector decode instantiations: [F16, BF16 cache][largest head size 64, 128][G = 1, 2, 4, 8]. */
    private static final String[][][] DECODE_VEC_KERNELS = {
        {
            {"attn_decode_f16_g1_d64", "attn_decode_f16_g2_d64", "attn_decode_f16_g4_d64", "attn_decode_f16_g8_d64"},
            {"attn_decode_f16_g1_d128", "attn_decode_f16_g2_d128", "attn_decode_f16_g4_d128", "attn_decode_f16_g8_d128"},
        },
        {
            {"attn_decode_bf16_g1_d64", "attn_decode_bf16_g2_d64", "attn_decode_bf16_g4_d64", "attn_decode_bf16_g8_d64"},
            {"attn_decode_bf16_g1_d128", "attn_decode_bf16_g2_d128", "attn_decode_bf16_g4_d128",
                "attn_decode_bf16_g8_d128"},
        },
    };

    /**
     * Whether the vector decode form takes this decode batch: an f16/bf16 cache whose rows are whole
     * 16-byte words (head size a multiple of 8, at most 128, with D / 8 lanes per row dividing a warp)
     * from a 16-byte aligned base.
     */
    private boolean vectorDecode(PagedAttention a) {
        int d = a.headSize();
        DType c = a.kCache().dtype();
        return (c == DType.BF16 || c == DType.F16) && d % 8 == 0 && d <= 128 && 32 % (d / 8) == 0
                && gpu.tensor(a.kCache()).address() % 16 == 0 && gpu.tensor(a.vCache()).address() % 16 == 0;
    }

    /**
     * The vector decode form (attention.cu decode_vec): one block of {@value #VECTOR_DECODE_WARPS} warps
     * per (sequence, query heads of one KV head, key split), each warp with a whole 32-key tile's loads in
     * flight; splits only when the blocks would not fill the device, every split keeping at least one pass
     * of the block's warps (256 keys); a KV head's query heads shared by several blocks while the blocks
     * would fill less than half the device. An extra block validates the metadata and zeroes the rows of
     * no sequence.
     */
    private void decodeVec(PagedAttention a, int tokens, int group) {
        int[] sc = keySplits((long) a.numSeqs() * a.numKvHeads(), 2L * gpu.multiprocessors(), a.maxSeqLen(),
                32 * VECTOR_DECODE_WARPS, 32);
        int splits = sc[0], chunk = sc[1];
        // query heads per block: the KV head's whole group, halved while the blocks would fill less than
        // half the device (batch 1 of Llama-3.2-1B: 8 blocks of 4 heads became 32 of 1, each a quarter of
        // the scores' work, the K/V rows read 4 times from L2 instead of once)
        int perBlock = group;
        while (perBlock > 1 && (long) a.numSeqs() * (a.numHeads() / perBlock) * splits < gpu.multiprocessors() / 2) {
            perBlock /= 2;
        }
        int d = a.headSize();
        int dm = d <= 64 ? 64 : 128;
        int shared = (perBlock * dm + 2 * VECTOR_DECODE_WARPS * perBlock + VECTOR_DECODE_WARPS * perBlock * d)
                * Float.BYTES;
        String name = DECODE_VEC_KERNELS[a.kCache().dtype() == DType.BF16 ? 1 : 0][dm == 64 ? 0 : 1]
                [Integer.numberOfTrailingZeros(perBlock)];
        try (Partials p = new Partials(a, tokens, splits)) {
            // one block past the sequences' (x = numSeqs) checks the metadata beside them (attention.cu decode_vec)
            launchDecode(gpu.kernel(name).grid(a.numSeqs() + 1, a.numHeads() / perBlock, splits)
                    .block(VECTOR_DECODE_WARPS * 32).sharedBytes(shared), a, tokens, splits, chunk, group, p);
        }
    }

    /**
     * The arguments both decode forms take after their launch shape (attention.cu ATTN_DECODE and
     * ATTN_DECODE_VEC: the views, the batch metadata, splits and chunk, the form's own int — vec for
     * the decode form, the KV group for the vector form —, the split partials and the error word),
     * then the launch and the merge of the splits.
     */
    private void launchDecode(Launch l, PagedAttention a, int tokens, int splits, int chunk, int formArg,
            Partials p) {
        l.dependent().view(a.q()).view(a.kCache()).view(a.vCache()).view(a.out())
                .ptr(a.queryStartLoc()).ptr(a.seqLens()).ptr(a.blockTables()).i64(a.blockTables().layout().rowStride())
                .i32(a.numSeqs()).i32(tokens).i32(a.numHeads()).i32(a.numKvHeads()).i32(a.headSize())
                .f32(a.scale()).i32(a.slidingWindow()).f32(a.softCap()).i32(a.blockSize()).i32(a.blockTables().cols())
                .i32(a.kCache().dim(0)).i32(splits).i32(chunk).i32(formArg).ptr(p.acc()).ptr(p.ml())
                .ptr(gpu.errorWord()).i32(DeviceErrors.code(OpKind.PAGED_ATTENTION, 0)).launch();
        p.merge();
    }

    /** The one-block-per-(token, head) form: the cross-check of the flash form, and its fallback. */
    private void simple(PagedAttention a, int tokens) {
        String kernel = switch (a.kCache().dtype()) {
            case F32 -> "attn_paged_f32";
            case F16 -> "attn_paged_f16";
            case BF16 -> "attn_paged_bf16";
            default -> throw new IllegalArgumentException("paged_attention: cache " + a.kCache().describe());
        };
        gpu.kernel(kernel).grid((long) tokens * a.numHeads()).block(128)
                .view(a.q()).view(a.kCache()).view(a.vCache()).view(a.out())
                .ptr(a.queryStartLoc()).ptr(a.seqLens()).ptr(a.blockTables()).i64(a.blockTables().layout().rowStride())
                .i32(a.numSeqs()).i32(tokens).i32(a.numHeads()).i32(a.numKvHeads()).i32(a.headSize()).f32(a.scale())
                .i32(a.slidingWindow()).f32(a.softCap()).i32(a.blockSize()).i32(a.blockTables().cols())
                .i32(a.kCache().dim(0)).ptr(gpu.errorWord()).i32(DeviceErrors.code(OpKind.PAGED_ATTENTION, 0)).launch();
    }

    @Override
    public String describeError(OpKind op, int detail, int a, int b, int c) {
        if (op == OpKind.KV_CACHE_WRITE) {
            return "kv_cache_write: slotMapping[" + a + "] = " + b + " is outside the cache (valid: -1 to skip, or 0.."
                    + ((long) c - 1) + " = block * blockSize + offset)";
        }
        return switch (detail) {
            case 1 -> "paged_attention: queryStartLoc must be non-decreasing within [0, T=" + c + "], got queryStartLoc["
                    + a + "] = " + b;
            case 2 -> "paged_attention: seqLens[" + a + "] = " + b + " is negative";
            case 3 -> "paged_attention: sequence " + a + " has " + b + " tokens, more than blockTables' " + c
                    + " columns of blocks hold; widen blockTables";
            case 4 -> "paged_attention: blockTables[" + a + ", " + b + "] = " + c + " is outside the cache's blocks";
            case 5 -> "paged_attention: sequence " + a + " has " + b + " queries and " + c
                    + " tokens, more than the maxQueryLen/maxSeqLen the call declared";
            default -> KernelFamily.super.describeError(op, detail, a, b, c);
        };
    }
}
