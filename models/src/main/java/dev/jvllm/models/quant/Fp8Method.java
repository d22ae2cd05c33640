package dev.jvllm.models.quant;

import dev.jvllm.models.quant.LinearScheme.Fp8Activation;
import dev.jvllm.models.quant.LinearScheme.Fp8Scales;
import java.util.List;

/**
 * {@code quant_method: "fp8"}: vLLM's Fp8Config checkpoints (per-tensor {@code weight_scale},
 * optional static {@code input_scale}) and block checkpoints ({@code weight_block_size},
 * {@code weight_scale_inv}: transformers' FineGrainedFP8, DeepSeek-V3). Skip lists:
 * {@code ignored_layers} (exact module names, as vLLM) and {@code modules_to_not_convert}
 * (transformers' and AWQ's looser matching).
 *
 * <p>Activations: {@code static} quantizes with the calibrated input scale. {@code dynamic} with
 * per-tensor weights quantizes per token (amax/448): vLLM's scale is per tensor there, and the
 * linear op's per-token form is finer. Block checkpoints quantize activations per token in groups
 * of block_k columns, as vLLM does: its Fp8Config accepts only {@code dynamic} with
 * {@code weight_block_size} and its block linear op quantizes x with per_token_group_quant_fp8
 * (group shape 1 × weight_block_size[0] in fp8.py; transformers' FP8Linear uses block_size[1], the
 * K edge the scale layout needs; every published block checkpoint is square, 128×128, so they
 * agree, and jvllm takes block_k). Groups start on block boundaries, so a row-parallel rank's
 * groups are exactly tp=1's groups over its columns. (vLLM's Marlin fallback on GPUs without fp8
 * tensor cores runs these weight-only; jvllm follows its fp8 path.)
 */
final class Fp8Method implements QuantMethod {
    private final Fields f;
    private final LinearScheme scheme;
    private final List<String> ignored;
    private final List<String> notConverted;

    Fp8Method(Fields f) {
        this.f = f;
        String act = f.string("activation_scheme").orElse("dynamic");
        if (!act.equals("static") && !act.equals("dynamic")) {
            throw f.unsupported("activation_scheme", "\"" + act + "\" is not an fp8 activation scheme; use \"static\" "
                    + "(calibrated input_scale tensors) or \"dynamic\"");
        }
        String fmt = f.string("fmt").orElse("e4m3");
        if (!fmt.equals("e4m3")) {
            throw f.unsupported("fmt", "\"" + fmt + "\" is not supported; jvllm loads fp8 e4m3 weights only");
        }
        String scaleFmt = f.string("scale_fmt").orElse("float");
        if (!scaleFmt.equals("float")) {
            throw f.unsupported("scale_fmt", "\"" + scaleFmt + "\" block scales are not supported; jvllm reads f32 "
                    + "weight_scale_inv (scale_fmt \"float\")");
        }
        List<Integer> block = f.ints("weight_block_size");
        if (!block.isEmpty() && (block.size() != 2 || block.get(0) <= 0 || block.get(1) <= 0)) {
            throw f.wrong("weight_block_size", block, "two positive integers [block_n, block_k]");
        }
        if (!block.isEmpty() && act.equals("static")) {
            throw f.unsupported("activation_scheme", "\"static\" with weight_block_size: block-wise fp8 checkpoints "
                    + "quantize activations dynamically (vLLM has the same rule); use \"dynamic\"");
        }
        Fp8Activation activation = act.equals("static") ? Fp8Activation.STATIC : Fp8Activation.DYNAMIC_PER_TOKEN;
        this.scheme = block.isEmpty()
                ? new LinearScheme.Fp8(Fp8Scales.TENSOR, 0, 0, "weight_scale", activation)
                : new LinearScheme.Fp8(Fp8Scales.BLOCK, block.get(0), block.get(1), "weight_scale_inv",
                        Fp8Activation.DYNAMIC_PER_TOKEN_GROUP);
        this.ignored = f.strings("ignored_layers");
        this.notConverted = f.strings("modules_to_not_convert");
    }

    @Override
    public String name() {
        return "fp8";
    }

    @Override
    public LinearScheme forModule(String module) {
        if (ignored.contains(module) || QuantMethod.notConverted(module, notConverted, f, "modules_to_not_convert")) {
            return LinearScheme.DENSE;
        }
        return scheme;
    }

    @Override
    public String skipListName() {
        return "ignored_layers (or modules_to_not_convert)";
    }
}
