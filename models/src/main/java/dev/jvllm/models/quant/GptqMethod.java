package dev.jvllm.models.quant;

import dev.jvllm.models.loader.ConfigException;
import dev.jvllm.models.quant.LinearScheme.Packing;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * {@code quant_method: "gptq"} (AutoGPTQ, GPTQModel, transformers' GPTQConfig): {@code bits},
 * {@code group_size} (-1: one group), {@code desc_act} (act-order g_idx), {@code sym},
 * {@code checkpoint_format} ({@code gptq} = v1, zero points stored minus one; {@code gptq_v2}),
 * {@code modules_in_block_to_quantize}, and GPTQModel's {@code dynamic} per-module rules: a key
 * {@code "-:REGEX"} keeps matching modules in full precision, {@code "+:REGEX"} (or a bare regex)
 * overrides bits/group_size/desc_act/sym; the first rule whose regex matches at the start of the
 * module name wins (vLLM's get_dynamic_override).
 *
 * <p>Which modules are quantized at all: those named by {@code modules_in_block_to_quantize}
 * (substring match), else those the checkpoint stores with integer tensors, as vLLM decides from the
 * safetensors metadata.
 */
final class GptqMethod implements QuantMethod {
    private record Rule(String key, boolean skip, Pattern pattern, Fields overrides) {
    }

    private final Fields f;
    private final int bits;
    private final int groupSize;
    private final boolean descAct;
    private final boolean sym;
    private final boolean v1;
    private final List<String> inBlock;
    private final List<Rule> dynamic = new ArrayList<>();
    private final Set<String> quantizedInCheckpoint; // null: not known (no checkpoint given)

    GptqMethod(Fields f, Set<String> quantizedInCheckpoint) {
        this.f = f;
        this.bits = f.requireInt("bits");
        this.groupSize = f.requireInt("group_size");
        this.descAct = f.bool("desc_act").orElse(false);
        this.sym = f.bool("sym").orElse(true);
        String format = f.string("checkpoint_format").orElse(f.string("format").orElse("gptq"));
        if (!format.equals("gptq") && !format.equals("gptq_v2")) {
            throw f.unsupported("checkpoint_format", "\"" + format + "\" is not supported; jvllm reads GPTQ's \"gptq\" "
                    + "(v1) and \"gptq_v2\" layouts (convert a marlin/bitblas export back to gptq)");
        }
        this.v1 = format.equals("gptq");
        if (f.bool("lm_head").orElse(false)) {
            throw f.unsupported("lm_head", "true (a GPTQ-quantized LM head) is not supported; jvllm keeps the LM head in "
                    + "full precision: quantize the checkpoint with lm_head=false");
        }
        this.inBlock = f.flatStrings("modules_in_block_to_quantize");
        this.quantizedInCheckpoint = quantizedInCheckpoint;
        f.object("dynamic").ifPresent(d -> {
            for (String key : d.keys()) {
                boolean skip = key.startsWith("-:");
                String regex = skip || key.startsWith("+:") ? key.substring(2) : key;
                Fields over = d.object(key).orElse(new Fields(java.util.Map.of(), d.where(key), ""));
                dynamic.add(new Rule(key, skip, QuantMethod.compile(regex, d, key), over));
            }
        });
        scheme(bits, groupSize, descAct, sym, "bits"); // fail on an unsupported base config even if no layer uses it
    }

    @Override
    public String name() {
        return "gptq";
    }

    @Override
    public LinearScheme forModule(String module) {
        Rule rule = null;
        for (Rule r : dynamic) {
            if (QuantMethod.matchesAtStart(r.pattern(), module)) {
                rule = r;
                break;
            }
        }
        if (rule != null && rule.skip()) {
            return LinearScheme.DENSE;
        }
        boolean quantized = !inBlock.isEmpty() ? inBlock.stream().anyMatch(module::contains)
                : quantizedInCheckpoint == null || quantizedInCheckpoint.contains(module);
        if (!quantized) {
            return LinearScheme.DENSE;
        }
        if (rule == null) {
            return scheme(bits, groupSize, descAct, sym, "bits");
        }
        Fields o = rule.overrides();
        return scheme(o.integer("bits").orElse(bits), o.integer("group_size").orElse(groupSize),
                o.bool("desc_act").orElse(descAct), o.bool("sym").orElse(sym), "dynamic[\"" + rule.key() + "\"]");
    }

    private LinearScheme scheme(int b, int gs, boolean act, boolean s, String field) {
        if (gs != -1 && gs <= 0) {
            throw new ConfigException(f.where("group_size") + " is " + gs + "; expected -1 (one group) or a positive size");
        }
        return switch (b) {
            case 4 -> new LinearScheme.Int4(Packing.GPTQ, gs, act && gs != -1, !s, v1);
            case 8 -> {
                if (gs != -1 || !s) {
                    throw new ConfigException(f.where(field) + ": 8-bit GPTQ with group_size=" + gs + ", sym=" + s
                            + " is not supported: the int8 linear op is per-channel and symmetric (LinearWeight.Int8); "
                            + "jvllm loads 8-bit GPTQ only with group_size -1 and sym true; use a 4-bit checkpoint");
                }
                yield new LinearScheme.Int8(Packing.GPTQ, v1);
            }
            default -> throw new ConfigException(f.where(field) + ": " + b + "-bit GPTQ is not supported; jvllm loads "
                    + "4-bit GPTQ (and 8-bit with group_size -1, sym true)");
        };
    }

    @Override
    public String skipListName() {
        return "dynamic \"-:\" rules (or modules_in_block_to_quantize)";
    }
}
