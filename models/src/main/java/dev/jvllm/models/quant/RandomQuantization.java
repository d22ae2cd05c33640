package dev.jvllm.models.quant;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Pattern;
import java.util.stream.IntStream;

/**
 * Quantized linear weights for random checkpoints ({@code jvllm save-random --quantization}): a
 * dense weight [N, K] is quantized round-to-nearest and written in one of the published checkpoint
 * layouts, with the {@code quantization_config} that layout ships with. The dense values are the
 * random checkpoint's own, so a quantized random checkpoint is the RTN quantization of the dense
 * one with the same seed: its dequantized weights are within half a quantization step of the
 * dense init (same range and standard deviation), and activations stay as sane as the dense
 * model's. The packing is done by {@link QuantPacking}; the loader reads the files back through
 * {@link Repack}, as it reads checkpoints made by AutoGPTQ, AutoAWQ, llm-compressor, AutoFP8 and
 * transformers' FineGrainedFP8.
 *
 * <p>Quantized: every decoder projection ({@code self_attn.{q,k,v,o,qkv}_proj},
 * {@code mlp.{gate,up,down,gate_up}_proj}); embeddings, norms and the LM head stay in the
 * checkpoint dtype, as in published checkpoints.
 */
public final class RandomQuantization {
    /** The formats, named after the methods / llm-compressor schemes that produce them. */
    public enum Format {
        FP8("fp8", "quant_method fp8 (AutoFP8, vLLM): e4m3 weights, one f32 weight_scale per layer, dynamic activations"),
        FP8_BLOCK("fp8-block", "quant_method fp8 with weight_block_size [128, 128] (transformers' FineGrainedFP8, "
                + "DeepSeek-V3): f32 weight_scale_inv per block, activation_scheme dynamic"),
        FP8_DYNAMIC("fp8-dynamic", "compressed-tensors float-quantized (llm-compressor FP8_DYNAMIC): per-channel "
                + "weight scales, dynamic per-token fp8 activations"),
        GPTQ("gptq", "GPTQ 4-bit v1 (AutoGPTQ, GPTQModel): symmetric, group_size G, qweight/qzeros/scales/g_idx"),
        GPTQ_ACT_ORDER("gptq-act-order", "GPTQ 4-bit v1 with desc_act: a random column order, groups by g_idx"),
        GPTQ_8BIT("gptq-8bit", "GPTQ 8-bit v1, group_size -1, symmetric (per output channel)"),
        AWQ("awq", "AWQ GEMM 4-bit (AutoAWQ): zero points, group_size G, nibble order 0,2,4,6,1,3,5,7"),
        W4A16("w4a16", "compressed-tensors pack-quantized int4 (llm-compressor W4A16): symmetric, group_size G"),
        W4A16_ASYM("w4a16-asym", "compressed-tensors pack-quantized int4 with weight_zero_point and actorder "
                + "\"group\" (weight_g_idx), group_size G"),
        W8A16("w8a16", "compressed-tensors pack-quantized int8 (llm-compressor W8A16): per output channel");

        private final String id;
        private final String summary;

        Format(String id, String summary) {
            this.id = id;
            this.summary = summary;
        }

        /** The command-line name ({@code gptq-act-order}). */
        public String id() {
            return id;
        }

        /** One line: which tool writes this layout and how. */
        public String summary() {
            return summary;
        }

        /** The format named {@code id}. */
        public static Format parse(String id) {
            for (Format f : values()) {
                if (f.id.equals(id)) {
                    return f;
                }
            }
            throw new IllegalArgumentException("unknown quantization \"" + id + "\"; expected one of "
                    + String.join(", ", Arrays.stream(values()).map(Format::id).toList()));
        }

        /** Whether the format has a group size (the int4 ones). */
        public boolean hasGroups() {
            return this == GPTQ || this == GPTQ_ACT_ORDER || this == AWQ || this == W4A16 || this == W4A16_ASYM;
        }
    }

    /** The default group size of the int4 formats (what GPTQ, AWQ and llm-compressor use). */
    public static final int DEFAULT_GROUP_SIZE = 128;
    /** fp8-block's block (FineGrainedFP8's and DeepSeek-V3's). */
    static final int FP8_BLOCK = 128;

    /** The architectures whose every decoder linear layer is one of the projections quantized here. */
    public static final List<String> ARCHITECTURES = List.of("LlamaForCausalLM", "MistralForCausalLM",
            "Qwen2ForCausalLM", "Qwen3ForCausalLM", "Gemma2ForCausalLM", "Phi3ForCausalLM");

    private static final Pattern PROJECTION = Pattern.compile(
            ".*\\.(self_attn\\.(q|k|v|o|qkv)_proj|mlp\\.(gate|up|down|gate_up)_proj)\\.weight");
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** One tensor a quantized layer is written as. */
    public record Tensor(String name, DType dtype, long[] shape, MemorySegment data) {
        /** Bytes on disk. */
        public long bytes() {
            return data.byteSize();
        }
    }

    private final Format format;
    private final int groupSize;
    private final DType dtype;
    private final long seed;

    /**
     * @param groupSize columns per scale group of the int4 formats, or -1 for one group per output
     *                  channel; ignored by the others
     * @param dtype     the checkpoint's float dtype (compressed-tensors stores its scales in it)
     * @param seed      draws act-order column permutations
     */
    public RandomQuantization(Format format, int groupSize, DType dtype, long seed) {
        if (groupSize != -1 && (groupSize <= 0 || groupSize % 8 != 0)) {
            throw new IllegalArgumentException("group size must be -1 (one group per output channel) or a positive "
                    + "multiple of 8, got " + groupSize);
        }
        if (groupSize == -1 && (format == Format.GPTQ_ACT_ORDER || format == Format.W4A16_ASYM)) {
            throw new IllegalArgumentException(format.id() + " orders columns into groups; give a group size, not -1");
        }
        this.format = format;
        this.groupSize = groupSize;
        this.dtype = dtype;
        this.seed = seed;
    }

    public Format format() {
        return format;
    }

    /**
     * Whether the checkpoint tensor {@code name} of a model of {@code architecture} is quantized.
     *
     * @throws IllegalArgumentException for an architecture outside {@link #ARCHITECTURES}
     */
    public boolean quantizes(String architecture, String name) {
        checkArchitecture(architecture);
        return PROJECTION.matcher(name).matches();
    }

    /** @throws IllegalArgumentException for an architecture outside {@link #ARCHITECTURES}, naming them */
    public static void checkArchitecture(String architecture) {
        if (!ARCHITECTURES.contains(architecture)) {
            throw new IllegalArgumentException("random quantized checkpoints are written for " + ARCHITECTURES
                    + ", not " + architecture + " (its other linear layers, routers or experts would need skip lists "
                    + "the loader cannot check here); write it dense (no --quantization)");
        }
    }

    /** The {@code quantization_config} of config.json, as the producing tool writes it. */
    public ObjectNode config() {
        ObjectNode c = new ObjectMapper().createObjectNode();
        switch (format) {
            case FP8 -> c.put("quant_method", "fp8").put("activation_scheme", "dynamic").putArray("ignored_layers");
            case FP8_BLOCK -> {
                c.put("quant_method", "fp8").put("activation_scheme", "dynamic").put("fmt", "e4m3");
                c.putArray("weight_block_size").add(FP8_BLOCK).add(FP8_BLOCK);
                c.putNull("modules_to_not_convert");
            }
            case GPTQ, GPTQ_ACT_ORDER, GPTQ_8BIT -> {
                boolean eight = format == Format.GPTQ_8BIT;
                c.put("quant_method", "gptq").put("bits", eight ? 8 : 4).put("group_size", eight ? -1 : groupSize)
                        .put("desc_act", format == Format.GPTQ_ACT_ORDER).put("sym", true)
                        .put("checkpoint_format", "gptq").put("true_sequential", true).put("damp_percent", 0.01)
                        .put("static_groups", false).put("lm_head", false);
            }
            case AWQ -> c.put("quant_method", "awq").put("bits", 4).put("group_size", groupSize).put("zero_point", true)
                    .put("version", "gemm").putNull("modules_to_not_convert");
            case W4A16, W4A16_ASYM, W8A16, FP8_DYNAMIC -> compressedTensors(c);
        }
        return c;
    }

    private void compressedTensors(ObjectNode c) {
        String fmt = format == Format.FP8_DYNAMIC ? "float-quantized" : "pack-quantized";
        c.put("quant_method", "compressed-tensors").put("format", fmt).put("quantization_status", "compressed")
                .put("version", "0.12.2").putNull("global_compression_ratio").putNull("kv_cache_scheme");
        c.putArray("ignore").add("lm_head");
        c.putObject("sparsity_config");
        c.putObject("transform_config");
        ObjectNode g = c.putObject("config_groups").putObject("group_0");
        g.putArray("targets").add("Linear");
        g.put("format", fmt);
        ObjectNode w = g.putObject("weights");
        switch (format) {
            case W4A16, W4A16_ASYM -> {
                boolean asym = format == Format.W4A16_ASYM;
                quantArgs(w, 4, "int", groupSize == -1 ? "channel" : "group", !asym, false);
                if (groupSize == -1) {
                    w.putNull("group_size");
                } else {
                    w.put("group_size", groupSize);
                }
                if (asym) {
                    w.put("actorder", "group");
                }
                g.putNull("input_activations");
            }
            case W8A16 -> {
                quantArgs(w, 8, "int", "channel", true, false);
                g.putNull("input_activations");
            }
            default -> { // FP8_DYNAMIC
                quantArgs(w, 8, "float", "channel", true, false);
                quantArgs(g.putObject("input_activations"), 8, "float", "token", true, true);
            }
        }
        g.putNull("output_activations");
    }

    private static void quantArgs(ObjectNode o, int bits, String type, String strategy, boolean symmetric, boolean dynamic) {
        o.put("num_bits", bits).put("type", type).put("symmetric", symmetric).put("strategy", strategy)
                .putNull("group_size").put("dynamic", dynamic).putNull("actorder").putNull("block_structure")
                .put("observer", dynamic ? null : "minmax");
        o.putObject("observer_kwargs");
    }

    // ---- quantizing one layer ----

    /**
     * The tensors of one quantized layer {@code module} (checkpoint prefix, no {@code .weight})
     * whose dense weight is {@code w} [n, k] (row-major, f32), allocated in {@code arena}.
     */
    public List<Tensor> quantize(String module, float[] w, int n, int k, Arena arena) {
        if (w.length != (long) n * k) {
            throw new IllegalArgumentException(module + ": " + w.length + " values for [" + n + ", " + k + "]");
        }
        Out out = new Out(module, arena);
        switch (format) {
            case FP8, FP8_BLOCK, FP8_DYNAMIC -> fp8(out, w, n, k);
            case GPTQ_8BIT, W8A16 -> int8(out, w, n, k);
            default -> int4(out, w, n, k);
        }
        return out.tensors;
    }

    /** Collects a layer's tensors. */
    private record Out(String module, Arena arena, List<Tensor> tensors) {
        Out(String module, Arena arena) {
            this(module, arena, new ArrayList<>());
        }

        void ints(String local, int[] v, long... shape) {
            MemorySegment s = arena.allocate(4L * v.length, 64);
            for (int i = 0; i < v.length; i++) {
                s.setAtIndex(I32, i, v[i]);
            }
            tensors.add(new Tensor(module + "." + local, DType.I32, shape, s));
        }

        void longs(String local, long... v) {
            MemorySegment s = arena.allocate(8L * v.length, 64);
            for (int i = 0; i < v.length; i++) {
                s.setAtIndex(I64, i, v[i]);
            }
            tensors.add(new Tensor(module + "." + local, DType.I64, new long[] {v.length}, s));
        }

        /** Floats already rounded to {@code dtype} (exact). */
        void floats(String local, DType dtype, float[] v, long... shape) {
            MemorySegment s = arena.allocate((long) dtype.byteSize() * v.length, 64);
            for (int i = 0; i < v.length; i++) {
                switch (dtype) {
                    case F32 -> s.setAtIndex(F32, i, v[i]);
                    case F16 -> s.setAtIndex(I16, i, Numerics.f32ToF16(v[i]));
                    case BF16 -> s.setAtIndex(I16, i, Numerics.f32ToBf16(v[i]));
                    default -> throw new IllegalStateException(dtype.name());
                }
            }
            tensors.add(new Tensor(module + "." + local, dtype, shape, s));
        }

        void fp8(String local, byte[] v, long... shape) {
            MemorySegment s = arena.allocate(v.length, 64);
            MemorySegment.copy(v, 0, s, ValueLayout.JAVA_BYTE, 0, v.length);
            tensors.add(new Tensor(module + "." + local, DType.F8_E4M3, shape, s));
        }
    }

    private void fp8(Out out, float[] w, int n, int k) {
        byte[] q = new byte[w.length];
        switch (format) {
            case FP8 -> {
                float scale = scale(amax(w, k, 0, n, 0, k) / Numerics.E4M3_MAX, DType.F32);
                IntStream.range(0, n).parallel().forEach(r -> encodeFp8(w, q, r, 0, k, k, scale));
                out.fp8("weight", q, n, k);
                out.floats("weight_scale", DType.F32, new float[] {scale}); // a scalar, as AutoFP8 stores it
            }
            case FP8_BLOCK -> {
                int br = Math.ceilDiv(n, FP8_BLOCK), bc = Math.ceilDiv(k, FP8_BLOCK);
                float[] scales = new float[br * bc];
                IntStream.range(0, br).parallel().forEach(i -> {
                    int r0 = i * FP8_BLOCK, r1 = Math.min(n, r0 + FP8_BLOCK);
                    for (int j = 0; j < bc; j++) {
                        int c0 = j * FP8_BLOCK, c1 = Math.min(k, c0 + FP8_BLOCK);
                        float s = scale(amax(w, k, r0, r1, c0, c1) / Numerics.E4M3_MAX, DType.F32);
                        scales[i * bc + j] = s;
                        for (int r = r0; r < r1; r++) {
                            encodeFp8(w, q, r, c0, c1, k, s);
                        }
                    }
                });
                out.fp8("weight", q, n, k);
                out.floats("weight_scale_inv", DType.F32, scales, br, bc);
            }
            default -> { // FP8_DYNAMIC: per-channel scales in the model dtype
                float[] scales = new float[n];
                IntStream.range(0, n).parallel().forEach(r -> {
                    scales[r] = scale(amax(w, k, r, r + 1, 0, k) / Numerics.E4M3_MAX, dtype);
                    encodeFp8(w, q, r, 0, k, k, scales[r]);
                });
                out.fp8("weight", q, n, k);
                out.floats("weight_scale", dtype, scales, n, 1);
            }
        }
    }

    private static void encodeFp8(float[] w, byte[] q, int r, int c0, int c1, int k, float scale) {
        for (int c = c0; c < c1; c++) {
            q[r * k + c] = Numerics.f32ToE4M3(w[r * k + c] / scale); // saturates at 448 should the rounded scale be low
        }
    }

    private void int8(Out out, float[] w, int n, int k) {
        if (k % 4 != 0) {
            throw new IllegalArgumentException(out.module() + ": int8 packing stores 4 values per int32 word; in "
                    + "features " + k + " is not a multiple of 4");
        }
        DType scaleType = format == Format.GPTQ_8BIT ? DType.F16 : dtype;
        float[] scales = new float[n];
        int[] q = new int[w.length]; // unsigned: signed + 128
        IntStream.range(0, n).parallel().forEach(r -> {
            float s = scales[r] = scale(amax(w, k, r, r + 1, 0, k) / 127, scaleType);
            for (int c = 0; c < k; c++) {
                q[r * k + c] = 128 + Math.clamp(Math.round(w[r * k + c] / s), -128, 127);
            }
        });
        if (format == Format.GPTQ_8BIT) {
            out.ints("qweight", QuantPacking.transpose(QuantPacking.packRows(q, n, k, 8), n, k / 4), k / 4, n);
            int[] zeros = new int[n];
            Arrays.fill(zeros, 128 - 1); // v1 stores zero - 1
            out.ints("qzeros", QuantPacking.packRows(zeros, 1, n, 8), 1, Math.ceilDiv(n, 4));
            out.floats("scales", scaleType, scales, 1, n);
            out.ints("g_idx", new int[k], k);
        } else {
            out.ints("weight_packed", QuantPacking.packRows(q, n, k, 8), n, k / 4);
            out.floats("weight_scale", scaleType, scales, n, 1);
            out.longs("weight_shape", n, k);
        }
    }

    private void int4(Out out, float[] w, int n, int k) {
        if (k % 8 != 0) {
            throw new IllegalArgumentException(out.module() + ": int4 packing stores 8 values per int32 word; in "
                    + "features " + k + " is not a multiple of 8");
        }
        boolean awq = format == Format.AWQ;
        if (awq && n % 8 != 0) {
            throw new IllegalArgumentException(out.module() + ": AWQ packs 8 output channels per word; out features "
                    + n + " is not a multiple of 8");
        }
        int gs = groupSize == -1 ? k : groupSize;
        int groups = Math.ceilDiv(k, gs);
        boolean actOrder = format == Format.GPTQ_ACT_ORDER || format == Format.W4A16_ASYM;
        boolean asym = awq || format == Format.W4A16_ASYM;
        int[] gIdx = groupIndex(out.module(), k, gs, actOrder);
        DType scaleType = format == Format.GPTQ || format == Format.GPTQ_ACT_ORDER || awq ? DType.F16 : dtype;
        float[] scales = new float[n * groups];
        int[] zeros = new int[n * groups];
        int[] q = new int[w.length];
        IntStream.range(0, n).parallel().forEach(r -> {
            float[] lo = new float[groups], hi = new float[groups];
            for (int c = 0; c < k; c++) {
                float v = w[r * k + c];
                lo[gIdx[c]] = Math.min(lo[gIdx[c]], v); // from 0: the range always holds zero, as GPTQ's
                hi[gIdx[c]] = Math.max(hi[gIdx[c]], v);
            }
            for (int g = 0; g < groups; g++) {
                if (asym) {
                    float s = scales[r * groups + g] = scale((hi[g] - lo[g]) / 15, scaleType);
                    zeros[r * groups + g] = Math.clamp(Math.round(-lo[g] / s), 0, 15);
                } else {
                    scales[r * groups + g] = scale(2 * Math.max(hi[g], -lo[g]) / 15, scaleType);
                    zeros[r * groups + g] = 8;
                }
            }
            for (int c = 0; c < k; c++) {
                int i = r * groups + gIdx[c];
                q[r * k + c] = Math.clamp(Math.round(w[r * k + c] / scales[i]) + zeros[i], 0, 15);
            }
        });
        switch (format) {
            case GPTQ, GPTQ_ACT_ORDER -> {
                out.ints("qweight", QuantPacking.transpose(QuantPacking.packRows(q, n, k, 4), n, k / 8), k / 8, n);
                int[] stored = zeros.clone();
                for (int i = 0; i < stored.length; i++) {
                    stored[i] -= 1; // v1 stores zero - 1 (symmetric: 7)
                }
                out.ints("qzeros", QuantPacking.packRows(QuantPacking.transpose(stored, n, groups), groups, n, 4),
                        groups, Math.ceilDiv(n, 8));
                out.floats("scales", scaleType, transpose(scales, n, groups), groups, n);
                out.ints("g_idx", gIdx, k);
            }
            case AWQ -> {
                out.ints("qweight", QuantPacking.packRowsAwq(QuantPacking.transpose(q, n, k), k, n), k, n / 8);
                out.ints("qzeros", QuantPacking.packRowsAwq(QuantPacking.transpose(zeros, n, groups), groups, n),
                        groups, n / 8);
                out.floats("scales", scaleType, transpose(scales, n, groups), groups, n);
            }
            default -> { // W4A16, W4A16_ASYM: compressed-tensors, [N, K/8] words, [N, G] scales
                out.ints("weight_packed", QuantPacking.packRows(q, n, k, 4), n, k / 8);
                out.floats("weight_scale", scaleType, scales, n, groups);
                out.longs("weight_shape", n, k);
                if (asym) { // zero points packed along N: [N/8, G]
                    int[] packed = QuantPacking.packRows(QuantPacking.transpose(zeros, n, groups), groups, n, 4);
                    out.ints("weight_zero_point", QuantPacking.transpose(packed, groups, Math.ceilDiv(n, 8)),
                            Math.ceilDiv(n, 8), groups);
                }
                if (actOrder) {
                    out.ints("weight_g_idx", gIdx, k);
                }
            }
        }
    }

    /**
     * Group of each input column: sequential (k / gs), or, for act-order, GPTQ's rule with a random
     * column order: the columns visited i-th belong to group i / gs.
     */
    private int[] groupIndex(String module, int k, int gs, boolean actOrder) {
        int[] g = new int[k];
        if (!actOrder) {
            for (int c = 0; c < k; c++) {
                g[c] = c / gs;
            }
            return g;
        }
        int[] perm = IntStream.range(0, k).toArray();
        SplittableRandom rnd = new SplittableRandom(seed ^ module.hashCode() * 0x9E3779B97F4A7C15L);
        for (int i = k - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        for (int i = 0; i < k; i++) {
            g[perm[i]] = i / gs;
        }
        return g;
    }

    /** A scale rounded to its stored dtype, never zero (an all-zero group keeps a tiny positive scale). */
    private static float scale(float s, DType stored) {
        float r = Numerics.roundTo(stored, Math.max(s, 1e-10f));
        return r > 0 ? r : Numerics.roundTo(stored, stored == DType.F16 ? 0x1.0p-24f : 1e-10f);
    }

    /** max |w| over rows [r0, r1) and columns [c0, c1) of w [*, k]. */
    private static float amax(float[] w, int k, int r0, int r1, int c0, int c1) {
        float m = 0;
        for (int r = r0; r < r1; r++) {
            for (int c = c0; c < c1; c++) {
                m = Math.max(m, Math.abs(w[r * k + c]));
            }
        }
        return m;
    }

    private static float[] transpose(float[] m, int rows, int cols) {
        float[] t = new float[m.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                t[c * rows + r] = m[r * cols + c];
            }
        }
        return t;
    }

    @Override
    public String toString() {
        return format.id() + (format.hasGroups() ? " group_size=" + groupSize : "");
    }
}
