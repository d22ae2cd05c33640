package dev.jvllm.models.quant;

import dev.jvllm.models.loader.ConfigException;
import dev.jvllm.models.quant.LinearScheme.Fp8Activation;
import dev.jvllm.models.quant.LinearScheme.Fp8Scales;
import dev.jvllm.models.quant.LinearScheme.Packing;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * {@code quant_method: "compressed-tensors"} (llm-compressor): {@code config_groups}, each with
 * {@code targets} (module names, {@code re:} patterns, or the class name {@code Linear}),
 * {@code weights} and {@code input_activations} quantization args and an optional per-group
 * {@code format}; {@code ignore} (names or {@code re:} patterns) keeps modules in full precision.
 *
 * <p>Supported: int4 weight-only {@code pack-quantized} (group or channel strategy, symmetric or
 * with {@code weight_zero_point}, actorder "group" g_idx); int8 weight-only per-channel
 * ({@code pack-quantized}, {@code int-quantized}, {@code naive-quantized}); fp8
 * {@code float-quantized} weights with tensor, channel or block scales, weight-only or with fp8
 * activations (static tensor scale, or dynamic: per token, and for block weights per token in
 * groups of block_k columns, see {@link Fp8Method}). Everything else fails naming the field: the
 * linear op has no int8 activations (W8A8), no fp4, no sparsity.
 */
final class CompressedTensorsMethod implements QuantMethod {
    private record Group(String name, List<String> targets, LinearScheme scheme) {
    }

    private final Fields f;
    private final List<String> ignore;
    private final List<Group> groups = new ArrayList<>();

    CompressedTensorsMethod(Fields f) {
        this.f = f;
        this.ignore = f.strings("ignore");
        if (f.has("kv_cache_scheme")) {
            throw f.unsupported("kv_cache_scheme", "fp8 KV-cache scales are not supported (the KV cache is kept in the "
                    + "activation dtype); use a checkpoint without kv_cache_scheme");
        }
        f.object("sparsity_config").flatMap(s -> s.string("format")).filter(s -> !s.equals("dense")).ifPresent(s -> {
            throw f.unsupported("sparsity_config", "format \"" + s + "\" is not supported; jvllm loads dense "
                    + "(unsparsified) compressed-tensors checkpoints");
        });
        f.object("transform_config").filter(t -> !t.keys().isEmpty()).ifPresent(t -> {
            throw f.unsupported("transform_config", "rotation/Hadamard transforms are not supported");
        });
        Fields cg = f.object("config_groups").orElseThrow(() -> new ConfigException(f.where("config_groups")
                + " is missing; a compressed-tensors config needs at least one group"));
        String globalFormat = f.string("format").orElse(null);
        for (String name : cg.keys()) {
            Fields g = cg.object(name).orElseThrow(() -> new ConfigException(cg.where(name) + " is null"));
            List<String> targets = g.strings("targets");
            if (targets.isEmpty()) {
                throw new ConfigException(g.where("targets") + " is missing or empty; a group needs targets");
            }
            String format = g.string("format").orElse(globalFormat);
            if (format == null || format.equals("mixed-precision")) {
                throw new ConfigException(g.where("format") + " is missing (and the top-level format is "
                        + (globalFormat == null ? "missing" : "\"" + globalFormat + "\"") + "); each group needs a format");
            }
            groups.add(new Group(name, targets, scheme(g, format)));
        }
    }

    private static LinearScheme scheme(Fields g, String format) {
        Fields w = g.object("weights").orElseThrow(() -> new ConfigException(g.where("weights")
                + " is missing; jvllm loads groups that quantize weights"));
        Optional<Fields> a = g.object("input_activations");
        int bits = w.requireInt("num_bits");
        String type = w.string("type").orElse("int");
        String strategy = w.string("strategy").orElse("tensor");
        boolean symmetric = w.bool("symmetric").orElse(true);
        if (w.bool("dynamic").orElse(false)) {
            throw w.unsupported("dynamic", "true (weights quantized at run time) is not a stored checkpoint format");
        }
        if (type.equals("float") && bits == 8) {
            if (!format.equals("float-quantized") && !format.equals("naive-quantized")) {
                throw g.unsupported("format", "\"" + format + "\" with fp8 weights; expected \"float-quantized\"");
            }
            Fp8Activation act = fp8Activation(a);
            return switch (strategy) {
                case "tensor" -> new LinearScheme.Fp8(Fp8Scales.TENSOR, 0, 0, "weight_scale", act);
                case "channel" -> new LinearScheme.Fp8(Fp8Scales.CHANNEL, 0, 0, "weight_scale", act);
                case "block" -> {
                    int[] b = blockStructure(w);
                    if (act == Fp8Activation.STATIC) {
                        throw a.get().unsupported("dynamic", "false with block weights: block fp8 quantizes activations "
                                + "dynamically; set input_activations.dynamic true");
                    }
                    // vLLM's CompressedTensorsW8A8Fp8 with a block_structure quantizes dynamic activations
                    // in groups of one block edge whatever the activation strategy (llm-compressor's
                    // FP8_BLOCK writes "group" with group_size 128; "token" runs the same), so does
                    // jvllm, with block_k (see Fp8Method); no input_activations is W8A16, as in vLLM
                    yield new LinearScheme.Fp8(Fp8Scales.BLOCK, b[0], b[1], "weight_scale",
                            act == Fp8Activation.NONE ? Fp8Activation.NONE : Fp8Activation.DYNAMIC_PER_TOKEN_GROUP);
                }
                default -> throw w.unsupported("strategy", "\"" + strategy + "\" fp8 weight scales are not supported; "
                        + "expected tensor, channel or block");
            };
        }
        if (!type.equals("int")) {
            throw w.unsupported("type", "\"" + type + "\" with num_bits " + bits + " is not supported (jvllm loads int4, "
                    + "int8 and fp8 e4m3 weights)");
        }
        if (a.isPresent()) {
            throw g.unsupported("input_activations", "integer weights with quantized activations (W"
                    + bits + "A" + a.get().integer("num_bits").orElse(0) + ") are not supported: the int linear ops are "
                    + "weight-only; use a W4A16 / W8A16 checkpoint");
        }
        if (bits == 4) {
            if (!format.equals("pack-quantized")) {
                throw g.unsupported("format", "\"" + format + "\" with int4 weights; expected \"pack-quantized\"");
            }
            int groupSize = switch (strategy) {
                case "group" -> w.integer("group_size").orElseThrow(() -> new ConfigException(w.where("group_size")
                        + " is missing; strategy \"group\" needs it"));
                case "channel" -> -1;
                default -> throw w.unsupported("strategy", "\"" + strategy + "\" int4 scales are not supported; "
                        + "expected group or channel");
            };
            if (groupSize != -1 && groupSize <= 0) {
                throw w.unsupported("group_size", groupSize + " is not a group size");
            }
            return new LinearScheme.Int4(Packing.PACKED, groupSize, actOrder(w).equals("group"), !symmetric, false);
        }
        if (bits == 8) {
            if (!strategy.equals("channel") || !symmetric) {
                throw w.unsupported("strategy", "int8 weights with strategy \"" + strategy + "\", symmetric " + symmetric
                        + " are not supported: the int8 linear op is per-channel and symmetric (LinearWeight.Int8)");
            }
            return switch (format) {
                case "pack-quantized" -> new LinearScheme.Int8(Packing.PACKED, false);
                case "int-quantized", "naive-quantized" -> new LinearScheme.Int8(Packing.PLAIN, false);
                default -> throw g.unsupported("format", "\"" + format + "\" with int8 weights; expected "
                        + "pack-quantized, int-quantized or naive-quantized");
            };
        }
        throw w.unsupported("num_bits", bits + "-bit integer weights are not supported (4 or 8)");
    }

    /** The activation handling an fp8 group asks for. */
    private static Fp8Activation fp8Activation(Optional<Fields> input) {
        if (input.isEmpty()) {
            return Fp8Activation.NONE;
        }
        Fields a = input.get();
        if (!a.string("type").orElse("int").equals("float") || a.integer("num_bits").orElse(0) != 8) {
            throw a.unsupported("type", "fp8 weights with non-fp8 activations are not supported");
        }
        Object dynamic = a.value("dynamic").orElse(false);
        if (Boolean.TRUE.equals(dynamic)) {
            // vLLM: "dynamic quantization is always supported": per token for tensor/channel weights,
            // whatever the strategy (token, tensor or group); block weights turn it into token groups
            return Fp8Activation.DYNAMIC_PER_TOKEN;
        }
        if (Boolean.FALSE.equals(dynamic) && a.string("strategy").orElse("tensor").equals("tensor")) {
            return Fp8Activation.STATIC;
        }
        throw a.unsupported("dynamic", dynamic + " with strategy \"" + a.string("strategy").orElse("tensor")
                + "\" is not supported; expected static tensor scales or dynamic activations");
    }

    private static int[] blockStructure(Fields w) {
        Object v = w.value("block_structure").orElseThrow(() -> new ConfigException(w.where("block_structure")
                + " is missing; strategy \"block\" needs [block_n, block_k]"));
        int[] b;
        if (v instanceof String s && s.matches("\\d+x\\d+")) {
            String[] p = s.split("x");
            b = new int[] {Integer.parseInt(p[0]), Integer.parseInt(p[1])};
        } else {
            b = w.ints("block_structure").stream().mapToInt(Integer::intValue).toArray();
        }
        if (b.length != 2 || b[0] <= 0 || b[1] <= 0) {
            throw w.wrong("block_structure", v, "[block_n, block_k] with positive sizes");
        }
        return b;
    }

    /** actorder: null, "static", "group", "weight", or (older versions) true for "group". */
    private static String actOrder(Fields w) {
        Object v = w.value("actorder").orElse("none");
        if (v instanceof Boolean b) {
            return b ? "group" : "none";
        }
        if (v instanceof String s && List.of("none", "static", "group", "weight").contains(s)) {
            return s;
        }
        throw w.wrong("actorder", v, "null, \"static\", \"group\" or \"weight\"");
    }

    @Override
    public String name() {
        return "compressed-tensors";
    }

    @Override
    public LinearScheme forModule(String module) {
        for (String e : ignore) {
            if (QuantMethod.exactOrRegex(module, e, f, "ignore")) {
                return LinearScheme.DENSE;
            }
        }
        // vLLM's find_matched_target: an exact or regex target first, then a class-name target
        for (Group g : groups) {
            for (String t : g.targets()) {
                if (!t.endsWith("Linear") && QuantMethod.exactOrRegex(module, t, f, "config_groups." + g.name() + ".targets")) {
                    return g.scheme();
                }
            }
        }
        for (Group g : groups) {
            if (g.targets().stream().anyMatch(t -> t.endsWith("Linear"))) {
                return g.scheme();
            }
        }
        throw new ConfigException(f.where("config_groups") + ": linear layer " + module + " matches no group's targets "
                + "and is not in ignore; add it to ignore or to a group's targets");
    }

    @Override
    public String skipListName() {
        return "ignore";
    }
}
