package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.List;

/**
 * A linear layer's weight W (N outputs × K inputs) in one of the formats the linear op consumes.
 * Every format states how an element W[n, k] is reconstructed in f32; the linear op is defined as
 * if the whole W were dequantized that way first.
 */
public sealed interface LinearWeight {

    /** N: output features. */
    int outFeatures();

    /** K: input features. */
    int inFeatures();

    /** The format's name for reports ("dense-bf16", "fp8-block", "int4-g128"). */
    String formatName();

    /** Every tensor of this weight (for upload and memory accounting). */
    List<Tensor> tensors();

    /** Plain weights: w [N, K] in F32, F16 or BF16; W[n, k] = w[n, k] converted exactly. */
    record Dense(Tensor w) implements LinearWeight {
        public Dense {
            Check.rank("linear", "weight", Check.nonNull("linear", "weight", w), 2);
            Check.dtype("linear", "weight", w, Check.FLOATS);
        }

        @Override
        public int outFeatures() {
            return w.dim(0);
        }

        @Override
        public int inFeatures() {
            return w.dim(1);
        }

        @Override
        public String formatName() {
            return "dense-" + w.dtype().name().toLowerCase(java.util.Locale.ROOT);
        }

        @Override
        public List<Tensor> tensors() {
            return List.of(w);
        }
    }

    /**
     * fp8 e4m3 weights with scales: W[n, k] = f32(w[n, k]) · s, where s is {@code scale[0]}
     * (per-tensor, scale [1]), {@code scale[n]} (per-channel, scale [N]) or
     * {@code scale[n / blockN, k / blockK]} (block, scale [ceil(N/blockN), ceil(K/blockK)]).
     *
     * <p>Activations: x is quantized to fp8 and dequantized before the product,
     * {@code x'[t, k] = f32(e4m3(x[t, k] / a)) · a} in f32 (e4m3 rounding to nearest even,
     * saturating at ±448), with a scale a that depends on the mode:
     * <ul>
     *   <li>{@code dynamicPerToken}, {@code activationGroupSize == 0}: one scale per row of x,
     *       {@code a = max_k |x[t, k]| / 448}; a row of zeros has a = 0 and stays zero;</li>
     *   <li>{@code dynamicPerToken}, {@code activationGroupSize = g > 0} (per token group, vLLM's
     *       {@code per_token_group_quant_fp8}, transformers' FineGrainedFP8 {@code act_quant}): each
     *       row is cut into groups of g consecutive columns, group j = columns
     *       [j·g, min((j+1)·g, K)) (the last one shorter when g does not divide K), each with its own
     *       {@code a = max(max_{k in group} |x[t, k]|, 1e-10) / 448}; 1e-10 is vLLM's eps, so a
     *       group of zeros stays zero;</li>
     *   <li>{@code inputScale} (F32 [1]): the static scale, a = inputScale[0];</li>
     *   <li>otherwise x is used as is (weight-only).</li>
     * </ul>
     * vLLM requires g to divide K (an assertion in its quantization kernel); the shorter last group
     * is this op's extension to the block layout, where the last scale block may be short too.
     */
    record Fp8(Tensor w, Tensor scale, int blockN, int blockK, Tensor inputScale, boolean dynamicPerToken,
            int activationGroupSize) implements LinearWeight {
        public Fp8 {
            Check.rank("linear", "fp8 weight", Check.nonNull("linear", "fp8 weight", w), 2);
            Check.dtype("linear", "fp8 weight", w, DType.F8_E4M3);
            Check.nonNull("linear", "fp8 scale", scale);
            Check.dtype("linear", "fp8 scale", scale, DType.F32);
            Check.that(inputScale == null || !dynamicPerToken, "linear",
                    "fp8: give either a static inputScale or dynamicPerToken, not both");
            Check.that(activationGroupSize >= 0, "linear", "fp8 activationGroupSize " + activationGroupSize
                    + " must be 0 (one scale per token) or a positive group size");
            Check.that(activationGroupSize == 0 || dynamicPerToken, "linear", "fp8 activationGroupSize "
                    + activationGroupSize + " needs dynamicPerToken (groups are dynamic per-token scales)");
            int n = w.dim(0), k = w.dim(1);
            if (blockN > 0 || blockK > 0) {
                Check.that(blockN > 0 && blockK > 0, "linear", "fp8 block sizes must both be > 0");
                Check.shape("linear", "fp8 block scale", scale, (n + blockN - 1) / blockN, (k + blockK - 1) / blockK);
            } else {
                Check.that(scale.numel() == 1 || (scale.rank() == 1 && scale.dim(0) == n), "linear",
                        "fp8 scale " + scale.describe() + " must be [1] (per-tensor) or [" + n + "] (per-channel)");
            }
        }

        /** Without activation groups: weight-only, static, or one dynamic scale per token. */
        public Fp8(Tensor w, Tensor scale, int blockN, int blockK, Tensor inputScale, boolean dynamicPerToken) {
            this(w, scale, blockN, blockK, inputScale, dynamicPerToken, 0);
        }

        @Override
        public int outFeatures() {
            return w.dim(0);
        }

        @Override
        public int inFeatures() {
            return w.dim(1);
        }

        @Override
        public String formatName() {
            return blockN > 0 ? "fp8-block" : scale.numel() == 1 ? "fp8-tensor" : "fp8-channel";
        }

        @Override
        public List<Tensor> tensors() {
            return inputScale == null ? List.of(w, scale) : List.of(w, scale, inputScale);
        }
    }

    /**
     * int4 group-quantized weights in jvllm's internal layout, to which GPTQ, AWQ and
     * compressed-tensors checkpoints are repacked at load time.
     *
     * <p>qweight: I32 [N, K/8]; word {@code qweight[n, k/8]} holds q(n, k) in bits
     * {@code 4·(k % 8) .. 4·(k % 8) + 3}, an unsigned value 0..15. Group of column k:
     * {@code g = gIdx == null ? k / groupSize : gIdx[k]}. scales: [N, G] (F32/F16/BF16), G =
     * number of groups; zeros: U8 [N, G] or null (symmetric: zero point 8).
     * {@code W[n, k] = (q(n, k) − zero(n, g)) · scale(n, g)}, in f32.
     */
    record Int4(Tensor qweight, Tensor scales, Tensor zeros, Tensor gIdx, int groupSize) implements LinearWeight {
        public Int4 {
            Check.rank("linear", "int4 qweight", Check.nonNull("linear", "int4 qweight", qweight), 2);
            Check.dtype("linear", "int4 qweight", qweight, DType.I32);
            Check.rank("linear", "int4 scales", Check.nonNull("linear", "int4 scales", scales), 2);
            Check.dtype("linear", "int4 scales", scales, Check.FLOATS);
            Check.positive("linear", "int4 groupSize", groupSize);
            int n = qweight.dim(0), k = qweight.dim(1) * 8;
            Check.that(scales.dim(0) == n, "linear", "int4 scales " + scales.describe() + " must have N=" + n + " rows");
            if (gIdx == null) {
                Check.that(scales.dim(1) == (k + groupSize - 1) / groupSize, "linear", "int4 scales "
                        + scales.describe() + " must have ceil(K/groupSize)=" + ((k + groupSize - 1) / groupSize) + " columns");
            } else {
                Check.shape("linear", "int4 g_idx", gIdx, k);
                Check.dtype("linear", "int4 g_idx", gIdx, DType.I32);
            }
            Check.dtype("linear", "int4 zeros", zeros, DType.U8);
            if (zeros != null) {
                Check.sameShape("linear", "scales", scales, "zeros", zeros);
            }
        }

        @Override
        public int outFeatures() {
            return qweight.dim(0);
        }

        @Override
        public int inFeatures() {
            return qweight.dim(1) * 8;
        }

        @Override
        public String formatName() {
            return "int4-g" + groupSize + (zeros == null ? "-sym" : "-zp") + (gIdx == null ? "" : "-actorder");
        }

        @Override
        public List<Tensor> tensors() {
            var l = new java.util.ArrayList<Tensor>(List.of(qweight, scales));
            if (zeros != null) {
                l.add(zeros);
            }
            if (gIdx != null) {
                l.add(gIdx);
            }
            return List.copyOf(l);
        }
    }

    /** int8 weight-only, per-channel: W[n, k] = w[n, k] · scales[n]. w: I8 [N, K]; scales: F32 [N]. */
    record Int8(Tensor w, Tensor scales) implements LinearWeight {
        public Int8 {
            Check.rank("linear", "int8 weight", Check.nonNull("linear", "int8 weight", w), 2);
            Check.dtype("linear", "int8 weight", w, DType.I8);
            Check.shape("linear", "int8 scales", Check.nonNull("linear", "int8 scales", scales), w.dim(0));
            Check.dtype("linear", "int8 scales", scales, DType.F32);
        }

        @Override
        public int outFeatures() {
            return w.dim(0);
        }

        @Override
        public int inFeatures() {
            return w.dim(1);
        }

        @Override
        public String formatName() {
            return "int8-channel";
        }

        @Override
        public List<Tensor> tensors() {
            return List.of(w, scales);
        }
    }
}
