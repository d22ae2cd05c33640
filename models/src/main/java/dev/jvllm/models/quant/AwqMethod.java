package dev.jvllm.models.quant;

import dev.jvllm.models.quant.LinearScheme.Packing;
import java.util.List;

/**
 * {@code quant_method: "awq"} (AutoAWQ, transformers' AwqConfig; old {@code quant_config.json}
 * spells {@code w_bit}/{@code q_group_size}): 4-bit GEMM packing with zero points, skipped modules
 * by {@code modules_to_not_convert}.
 */
final class AwqMethod implements QuantMethod {
    private final Fields f;
    private final LinearScheme scheme;
    private final List<String> notConverted;

    AwqMethod(Fields f) {
        this.f = f;
        int bits = f.requireInt("bits", "w_bit");
        if (bits != 4) {
            throw f.unsupported(f.has("bits") ? "bits" : "w_bit", bits + "-bit AWQ is not supported; AWQ checkpoints are 4-bit");
        }
        int groupSize = f.requireInt("group_size", "q_group_size");
        if (groupSize != -1 && groupSize <= 0) {
            throw f.unsupported("group_size", groupSize + " is not a group size; expected -1 or a positive size");
        }
        if (!f.bool("zero_point").orElse(true)) {
            throw f.unsupported("zero_point", "false is not supported; AWQ GEMM checkpoints store zero points (qzeros)");
        }
        String version = f.string("version").orElse("gemm").toLowerCase(java.util.Locale.ROOT);
        if (!version.equals("gemm")) {
            throw f.unsupported("version", "\"" + version + "\" packing is not supported; jvllm reads AWQ's GEMM layout "
                    + "(qweight [in, out/8]); re-export the model with version \"gemm\"");
        }
        this.scheme = new LinearScheme.Int4(Packing.AWQ, groupSize, false, true, false);
        this.notConverted = f.strings("modules_to_not_convert");
    }

    @Override
    public String name() {
        return "awq";
    }

    @Override
    public LinearScheme forModule(String module) {
        return QuantMethod.notConverted(module, notConverted, f, "modules_to_not_convert") ? LinearScheme.DENSE : scheme;
    }

    @Override
    public String skipListName() {
        return "modules_to_not_convert";
    }
}
