package dev.jvllm.models.quant;

import dev.jvllm.api.DType;
import dev.jvllm.models.loader.CheckpointTensor;
import dev.jvllm.models.loader.ConfigException;
import dev.jvllm.models.loader.ModelConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A checkpoint's quantization, read once from {@code config.json}'s {@code quantization_config}
 * (or, when that is absent, {@code quantize_config.json} / {@code quant_config.json} as AutoGPTQ
 * and AutoAWQ write them), and the per-layer decision vLLM makes in
 * {@code get_quant_method(layer, prefix)}: {@link #schemeFor}.
 *
 * <p>Fused layers ({@code qkv_proj}, {@code gate_up_proj}) are decided by their checkpoint shards
 * ({@code q_proj}/{@code k_proj}/{@code v_proj}, {@code gate_proj}/{@code up_proj}); shards that
 * disagree fail naming each shard's scheme. When the checkpoint is known, each decision is checked
 * against the tensors it holds, so a skip list that does not match the checkpoint fails with the
 * layer, the tensors found and the config field to fix, before anything is loaded.
 */
public final class QuantizationConfig {
    /** vLLM's default packed_modules_mapping: fused module name → checkpoint shard names. */
    private static final Map<String, List<String>> FUSED = Map.of(
            "qkv_proj", List.of("q_proj", "k_proj", "v_proj"),
            "gate_up_proj", List.of("gate_proj", "up_proj"));

    /** Local names that only quantized modules have. */
    private static final Set<String> QUANTIZED_NAMES = Set.of("qweight", "qzeros", "scales", "g_idx", "weight_packed",
            "weight_scale", "weight_scale_inv", "weight_zero_point", "weight_shape", "weight_g_idx", "input_scale");

    private static final QuantizationConfig NONE = new QuantizationConfig(null, Map.of());

    private final QuantMethod method; // null: not quantized
    private final Map<String, Map<String, DType>> checkpoint; // module → local tensor name → dtype; empty: unknown

    private QuantizationConfig(QuantMethod method, Map<String, Map<String, DType>> checkpoint) {
        this.method = method;
        this.checkpoint = checkpoint;
    }

    /** A full-precision model. */
    public static QuantizationConfig none() {
        return NONE;
    }

    /**
     * The quantization of the model in {@code dir}, checked against its tensors.
     *
     * @param config     the directory's config.json
     * @param checkpoint its tensors (names and dtypes are read, no data)
     * @throws ConfigException for an unsupported method or field, or a checkpoint that contradicts it
     */
    public static QuantizationConfig load(Path dir, ModelConfig config, Iterable<CheckpointTensor> checkpoint)
            throws IOException {
        Map<String, Map<String, DType>> index = new TreeMap<>();
        for (CheckpointTensor t : checkpoint) {
            int dot = t.name().lastIndexOf('.');
            if (dot > 0) {
                index.computeIfAbsent(t.name().substring(0, dot), k -> new TreeMap<>())
                        .put(t.name().substring(dot + 1), t.dtype());
            }
        }
        Fields f = fields(dir, config);
        if (f == null) {
            return NONE;
        }
        QuantizationConfig q = new QuantizationConfig(method(f, index), index);
        q.checkEmbeddingsStayDense();
        return q;
    }

    /** The {@code quantization_config} of a config.json alone (no checkpoint to check against). */
    public static QuantizationConfig of(ModelConfig config) {
        Object raw = config.raw("quantization_config").orElse(null);
        if (raw == null) {
            return NONE;
        }
        return new QuantizationConfig(method(fields(raw, config.source(), "quantization_config."), Map.of()), Map.of());
    }

    private static Fields fields(Path dir, ModelConfig config) throws IOException {
        Object raw = config.raw("quantization_config").orElse(null);
        if (raw != null) {
            return fields(raw, config.source(), "quantization_config.");
        }
        for (String file : List.of("quantize_config.json", "quant_config.json")) {
            Path p = dir.resolve(file);
            if (Files.isRegularFile(p)) {
                ModelConfig c = ModelConfig.load(p);
                Map<String, Object> m = new LinkedHashMap<>();
                for (String k : c.keys()) {
                    m.put(k, c.raw(k).orElse(null));
                }
                return new Fields(m, p.toString(), "");
            }
        }
        return null;
    }

    private static Fields fields(Object raw, String source, String path) {
        if (!(raw instanceof Map<?, ?> m)) {
            throw new ConfigException(source + ": " + path.substring(0, path.length() - 1) + " is " + raw
                    + ", expected an object");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> typed = (Map<String, Object>) m;
        return new Fields(typed, source, path);
    }

    private static QuantMethod method(Fields f, Map<String, Map<String, DType>> index) {
        String name = f.string("quant_method").orElseGet(() -> {
            if (f.has("w_bit") || f.has("zero_point")) {
                return "awq"; // AutoAWQ's quant_config.json predates quant_method
            }
            if (f.has("bits")) {
                return "gptq"; // so does AutoGPTQ's quantize_config.json
            }
            throw new ConfigException(f.where("quant_method") + " is missing; cannot tell how the checkpoint is quantized");
        });
        return switch (name) {
            case "fp8" -> new Fp8Method(f);
            case "gptq" -> new GptqMethod(f, index.isEmpty() ? null : quantizedModules(index));
            case "awq" -> new AwqMethod(f);
            case "compressed-tensors" -> new CompressedTensorsMethod(f);
            default -> throw f.unsupported("quant_method", "\"" + name + "\" is not supported; jvllm loads fp8, gptq, "
                    + "awq and compressed-tensors checkpoints (dequantize the model to bf16 to run it)");
        };
    }

    /** Modules the checkpoint stores with a non-float tensor (vLLM reads GPTQ's quantized set from this). */
    private static Set<String> quantizedModules(Map<String, Map<String, DType>> index) {
        Set<String> s = new HashSet<>();
        index.forEach((module, tensors) -> {
            if (tensors.values().stream().anyMatch(d -> !d.isFloat())) {
                s.add(module);
            }
        });
        return s;
    }

    /** Whether any layer may be quantized. */
    public boolean isQuantized() {
        return method != null;
    }

    /** {@code quant_method} ({@code "none"} for a full-precision model). */
    public String method() {
        return method == null ? "none" : method.name();
    }

    /**
     * The scheme of the linear layer at {@code prefix} made of {@code shards} parts (vLLM's
     * {@code get_quant_method(layer, prefix)}): a fused layer's checkpoint shards must agree.
     *
     * @throws IllegalArgumentException when shards disagree or the checkpoint contradicts the decision
     */
    public LinearScheme schemeFor(String prefix, int shards) {
        if (method == null) {
            return LinearScheme.DENSE;
        }
        int dot = prefix.lastIndexOf('.');
        String local = prefix.substring(dot + 1);
        List<String> modules = new ArrayList<>();
        List<String> names = FUSED.get(local);
        if (shards > 1 && names != null && names.size() == shards) {
            String parent = prefix.substring(0, dot + 1);
            for (String n : names) {
                modules.add(parent + n);
            }
        }
        if (modules.isEmpty() || (checkpoint.containsKey(prefix) && modules.stream().noneMatch(checkpoint::containsKey))) {
            modules = List.of(prefix); // not fused, or fused on disk (Phi-3's qkv_proj): the checkpoint's own name decides
        }
        Map<String, LinearScheme> decided = new LinkedHashMap<>();
        for (String m : modules) {
            decided.put(m, method.forModule(m));
        }
        if (new HashSet<>(decided.values()).size() > 1) {
            StringBuilder sb = new StringBuilder("fused layer " + prefix + ": its shards are quantized differently (");
            decided.forEach((m, s) -> sb.append(m).append(": ").append(s.describe()).append("; "));
            sb.setLength(sb.length() - 2);
            throw new IllegalArgumentException(sb + "); vLLM runs a fused layer with one scheme, so every shard must "
                    + "match: list all of them, or none, in the " + method.name() + " config's " + method.skipListName());
        }
        LinearScheme scheme = decided.get(modules.get(0));
        for (String m : modules) {
            checkCheckpoint(m, scheme);
        }
        return scheme;
    }

    /** The decision against the tensors the checkpoint has for the module (when both are known). */
    private void checkCheckpoint(String module, LinearScheme scheme) {
        Map<String, DType> have = checkpoint.get(module);
        if (have == null) {
            return; // not in the checkpoint under this name (fused on disk): the loader reports what is missing
        }
        DType weight = have.get("weight");
        boolean denseOnDisk = weight != null && weight.isFloat();
        if (scheme instanceof LinearScheme.Dense) {
            List<String> quantized = have.keySet().stream().filter(QUANTIZED_NAMES::contains).toList();
            if (!denseOnDisk && (!quantized.isEmpty() || weight != null)) {
                throw new IllegalArgumentException(module + ": the checkpoint stores this layer quantized (" + describe(have)
                        + "), but the " + method.name() + " quantization config keeps it in full precision; remove it "
                        + "from the config's " + method.skipListName());
            }
            return;
        }
        if (denseOnDisk) {
            throw new IllegalArgumentException(module + ": the checkpoint stores this layer in full precision ("
                    + describe(have) + "), but the " + method.name() + " quantization config quantizes it ("
                    + scheme.describe() + "); list it in the config's " + method.skipListName());
        }
        for (String need : scheme.requiredTensors()) {
            if (!have.containsKey(need)) {
                throw new IllegalArgumentException(module + ": the checkpoint has no tensor " + module + "." + need
                        + ", which " + scheme.describe() + " needs (found " + describe(have) + "); the checkpoint and "
                        + "its " + method.name() + " quantization config disagree (a block fp8 checkpoint needs "
                        + "weight_block_size, a static one input_scale, an asymmetric one zero points)");
            }
        }
    }

    /** Quantized LM heads and embeddings are not supported: fail before loading instead of at an unknown tensor. */
    private void checkEmbeddingsStayDense() {
        checkpoint.forEach((module, tensors) -> {
            String last = module.substring(module.lastIndexOf('.') + 1);
            boolean embedding = last.equals("lm_head") || last.contains("embed") || last.equals("wte");
            if (embedding && tensors.keySet().stream().anyMatch(QUANTIZED_NAMES::contains)) {
                throw new IllegalArgumentException(module + ": the checkpoint stores this embedding / LM head quantized ("
                        + describe(tensors) + "); jvllm keeps embeddings and the LM head in full precision (vLLM "
                        + "quantizes them only for a few methods); use a checkpoint that leaves them unquantized");
            }
        });
    }

    private static String describe(Map<String, DType> tensors) {
        StringBuilder sb = new StringBuilder();
        tensors.forEach((k, v) -> sb.append(sb.isEmpty() ? "" : ", ").append(k).append(' ').append(v));
        return sb.toString();
    }

    @Override
    public String toString() {
        return "QuantizationConfig[" + method() + "]";
    }
}
