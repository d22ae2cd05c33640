package dev.jvllm.models.quant;

import java.util.ArrayList;
import java.util.List;

/**
 * How one linear layer is stored in the checkpoint and which {@link dev.jvllm.api.ops.LinearWeight}
 * it becomes: vLLM's per-layer quant method, reduced to what loading needs. Two shards of a fused
 * layer must have equal schemes (records compare by value).
 */
public sealed interface LinearScheme {

    /** Checkpoint tensors every shard of the layer needs, by local name ({@code qweight}, {@code weight_scale}). */
    List<String> requiredTensors();

    /**
     * Tensors the layer accepts but does not need (GPTQ's sequential {@code g_idx}, an fp8 input
     * scale under dynamic activations). They are checked when present, never used.
     */
    List<String> optionalTensors();

    /** For messages: {@code "int4 gptq group_size=32 act-order, zero points"}. */
    String describe();

    /** Full precision: {@code weight} in F32/F16/BF16 becomes {@code LinearWeight.Dense}. */
    LinearScheme DENSE = new Dense();

    /** Full precision (use {@link #DENSE}). */
    record Dense() implements LinearScheme {
        @Override
        public List<String> requiredTensors() {
            return List.of("weight");
        }

        @Override
        public List<String> optionalTensors() {
            return List.of();
        }

        @Override
        public String describe() {
            return "full precision";
        }
    }

    /** What the fp8 linear op does with activations. */
    enum Fp8Activation {
        /** Weight-only: x is used as is. */
        NONE,
        /** One calibrated scale ({@code input_scale}); a fused layer uses its shards' max, as vLLM does. */
        STATIC,
        /** A scale per token, amax/448, computed at run time. */
        DYNAMIC_PER_TOKEN,
        /**
         * A scale per token and group of blockK columns, max(amax, 1e-10)/448, computed at run
         * time: how vLLM (per_token_group_quant_fp8) and transformers (FineGrainedFP8 act_quant)
         * run block fp8 weights. BLOCK scales only.
         */
        DYNAMIC_PER_TOKEN_GROUP
    }

    /** Granularity of fp8 weight scales. */
    enum Fp8Scales { TENSOR, CHANNEL, BLOCK }

    /**
     * fp8 e4m3 weights ({@code weight}) with scales named {@code scaleName}: {@code weight_scale}
     * (vLLM fp8, compressed-tensors) or {@code weight_scale_inv} (block checkpoints of transformers'
     * FineGrainedFP8 and DeepSeek; despite the name it multiplies). Becomes {@code LinearWeight.Fp8}.
     *
     * @param blockN rows per scale block (BLOCK only, else 0)
     * @param blockK columns per scale block (BLOCK only, else 0)
     */
    record Fp8(Fp8Scales scales, int blockN, int blockK, String scaleName, Fp8Activation activation)
            implements LinearScheme {
        @Override
        public List<String> requiredTensors() {
            return activation == Fp8Activation.STATIC ? List.of("weight", scaleName, "input_scale")
                    : List.of("weight", scaleName);
        }

        @Override
        public List<String> optionalTensors() {
            return activation == Fp8Activation.STATIC ? List.of() : List.of("input_scale");
        }

        @Override
        public String describe() {
            String s = "fp8 " + scales.name().toLowerCase(java.util.Locale.ROOT)
                    + (scales == Fp8Scales.BLOCK ? " " + blockN + "x" + blockK : "") + " scales";
            return s + switch (activation) {
                case NONE -> ", weight-only";
                case STATIC -> ", static activation scale";
                case DYNAMIC_PER_TOKEN -> ", dynamic per-token activations";
                case DYNAMIC_PER_TOKEN_GROUP -> ", dynamic activations per token and " + blockK + " columns";
            };
        }
    }

    /** Where a checkpoint keeps packed integer weights. */
    enum Packing {
        /** GPTQ / AutoGPTQ / GPTQModel: qweight I32 [K/pf, N] packed along K, qzeros [G, N/pf], scales [G, N], g_idx [K]. */
        GPTQ,
        /** AutoAWQ GEMM: qweight I32 [K, N/8] packed along N in the order 0,2,4,6,1,3,5,7; qzeros [G, N/8]; scales [G, N]. */
        AWQ,
        /** compressed-tensors pack-quantized: weight_packed I32 [N, K/pf] (signed + 2^(bits-1)), weight_scale [N, G]. */
        PACKED,
        /** compressed-tensors int-quantized / naive-quantized: weight I8 [N, K], weight_scale [N, 1]. */
        PLAIN
    }

    /**
     * int4 weights with group scales: becomes {@code LinearWeight.Int4} (one internal layout).
     *
     * @param groupSize  columns per group; -1 = one group over the whole input (GPTQ's convention)
     * @param actOrder   the checkpoint's g_idx assigns columns to groups (GPTQ desc_act,
     *                   compressed-tensors actorder "group")
     * @param zeroPoints whether zero points are stored (GPTQ always stores qzeros; its symmetric
     *                   ones are all 8 and are dropped at load)
     * @param gptqV1     GPTQ's v1 checkpoint format stores zero − 1
     */
    record Int4(Packing packing, int groupSize, boolean actOrder, boolean zeroPoints, boolean gptqV1)
            implements LinearScheme {
        @Override
        public List<String> requiredTensors() {
            List<String> l = new ArrayList<>();
            switch (packing) {
                case GPTQ -> {
                    l.addAll(List.of("qweight", "qzeros", "scales"));
                    if (actOrder) {
                        l.add("g_idx");
                    }
                }
                case AWQ -> l.addAll(List.of("qweight", "qzeros", "scales"));
                case PACKED -> {
                    l.addAll(List.of("weight_packed", "weight_scale", "weight_shape"));
                    if (zeroPoints) {
                        l.add("weight_zero_point");
                    }
                    if (actOrder) {
                        l.add("weight_g_idx");
                    }
                }
                case PLAIN -> throw new IllegalStateException("int4 is never stored unpacked");
            }
            return List.copyOf(l);
        }

        @Override
        public List<String> optionalTensors() {
            if (actOrder) {
                return List.of();
            }
            return switch (packing) {
                case GPTQ -> List.of("g_idx");
                case PACKED -> List.of("weight_g_idx");
                default -> List.of();
            };
        }

        @Override
        public String describe() {
            return "int4 " + packing.name().toLowerCase(java.util.Locale.ROOT) + " group_size=" + groupSize
                    + (actOrder ? " act-order" : "") + (zeroPoints ? ", zero points" : ", symmetric")
                    + (packing == Packing.GPTQ ? (gptqV1 ? ", gptq v1" : ", gptq v2") : "");
        }
    }

    /**
     * int8 weight-only with per-output-channel scales (the only int8 form the linear op has):
     * becomes {@code LinearWeight.Int8}. GPTQ 8-bit is accepted only with group_size -1 and
     * symmetric zero points (128), which is exactly that form.
     */
    record Int8(Packing packing, boolean gptqV1) implements LinearScheme {
        @Override
        public List<String> requiredTensors() {
            return switch (packing) {
                case GPTQ -> List.of("qweight", "qzeros", "scales");
                case PACKED -> List.of("weight_packed", "weight_scale", "weight_shape");
                case PLAIN -> List.of("weight", "weight_scale");
                case AWQ -> throw new IllegalStateException("AWQ has no 8-bit form");
            };
        }

        @Override
        public List<String> optionalTensors() {
            return packing == Packing.GPTQ ? List.of("g_idx") : List.of();
        }

        @Override
        public String describe() {
            return "int8 " + packing.name().toLowerCase(java.util.Locale.ROOT) + " per-channel";
        }
    }
}
