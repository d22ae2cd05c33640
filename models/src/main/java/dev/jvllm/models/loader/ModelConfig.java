package dev.jvllm.models.loader;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jvllm.api.DType;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.Set;

/**
 * A typed, read-only view of a Hugging Face {@code config.json}.
 *
 * <p>Two layers: accessors for the fields most architectures share ({@link #hiddenSize()},
 * {@link #ropeScaling()}, ...), each documenting its aliases and default; and generic getters
 * ({@link #getInt}, {@link #optionalDouble}, {@link #subConfig}, ...) for anything an
 * architecture reads on its own (Gemma's {@code attn_logit_softcapping}, Mamba's
 * {@code state_size}).
 *
 * <p>Conventions of every getter:
 * <ul>
 *   <li>absent and JSON {@code null} are the same: the default applies (or, for required
 *       fields, a {@link ConfigException} names the missing field);</li>
 *   <li>a present value of the wrong type is an error, never silently replaced by a default;</li>
 *   <li>numbers may be written as non-finite floats in either spelling transformers has used:
 *       bare {@code Infinity}/{@code -Infinity}/{@code NaN} tokens (Python's json module) and
 *       transformers 5's {@code {"__float__": "Infinity"}};</li>
 *   <li>an integer field accepts a float with an integral value ({@code 4096.0});</li>
 *   <li>a key given twice keeps the last value, as Python's json module does.</li>
 * </ul>
 * Accessors are lazy: reading config.json never fails because of a field the model does not
 * use.
 */
public final class ModelConfig {

    private static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .build());

    private final ObjectNode root;
    private final String source; // "…/config.json", for messages
    private final String prefix; // "" or "text_config." for nested configs

    private ModelConfig(ObjectNode root, String source, String prefix) {
        this.root = root;
        this.source = source;
        this.prefix = prefix;
    }

    /**
     * Reads {@code config.json} from a model directory (or the given file).
     *
     * @throws ConfigException if it is missing, not JSON, or not a JSON object
     * @throws IOException     if it cannot be read
     */
    public static ModelConfig load(Path dirOrFile) throws IOException {
        Path file = Files.isDirectory(dirOrFile) ? dirOrFile.resolve("config.json") : dirOrFile;
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ConfigException(file + " does not exist; a Hugging Face model directory needs its"
                    + " config.json (download it with the weights)", e);
        } catch (java.nio.charset.MalformedInputException e) {
            throw new ConfigException(file + " is not valid UTF-8", e);
        }
        return parse(text, file.toString());
    }

    /**
     * Parses config.json text.
     *
     * @param source what to call the text in messages, e.g. {@code "config.json"}
     * @throws ConfigException if the text is not a JSON object
     */
    public static ModelConfig parse(String json, String source) {
        JsonNode n;
        try {
            n = JSON.readTree(json);
        } catch (JacksonException e) {
            throw new ConfigException(source + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (n == null || !n.isObject()) {
            throw new ConfigException(source + " is " + SafetensorsFile.kind(n) + ", expected a JSON object");
        }
        return new ModelConfig((ObjectNode) n, source, "");
    }

    /** Where this config came from, for messages. */
    public String source() {
        return source;
    }

    // ---------------------------------------------------------------------------------------
    // Fields most architectures share.

    /** {@code architectures}, e.g. {@code ["LlamaForCausalLM"]}; empty when absent. */
    public List<String> architectures() {
        return getStringList("architectures");
    }

    /** {@code model_type}, e.g. {@code "llama"}; empty string when absent. */
    public String modelType() {
        return getString("model_type", "");
    }

    /** {@code hidden_size} (aliases {@code n_embd} (GPT-2), {@code d_model}). Required. */
    public int hiddenSize() {
        return requireIntAlias("hidden_size", "n_embd", "d_model");
    }

    /** {@code intermediate_size} (aliases {@code ffn_dim} (OPT), {@code n_inner} (GPT-2, may be null)). Required. */
    public int intermediateSize() {
        return requireIntAlias("intermediate_size", "ffn_dim", "n_inner");
    }

    /** {@code num_hidden_layers} (aliases {@code n_layer}, {@code num_layers}). Required. */
    public int numHiddenLayers() {
        return requireIntAlias("num_hidden_layers", "n_layer", "num_layers");
    }

    /** {@code num_attention_heads} (alias {@code n_head}). Required. */
    public int numAttentionHeads() {
        return requireIntAlias("num_attention_heads", "n_head");
    }

    /** {@code num_key_value_heads}; {@link #numAttentionHeads()} (plain multi-head) when absent. */
    public int numKeyValueHeads() {
        OptionalInt kv = optionalInt("num_key_value_heads");
        return kv.isPresent() ? kv.getAsInt() : numAttentionHeads();
    }

    /**
     * {@code head_dim}; absent or null means {@code hidden_size / num_attention_heads}, which
     * must then divide evenly.
     */
    public int headDim() {
        OptionalInt hd = optionalInt("head_dim");
        if (hd.isPresent()) {
            return hd.getAsInt();
        }
        int h = hiddenSize();
        int n = numAttentionHeads();
        if (n <= 0 || h % n != 0) {
            throw new ConfigException(source + ": head_dim is absent and hidden_size=" + h
                    + " is not a multiple of num_attention_heads=" + n + "; set head_dim explicitly");
        }
        return h / n;
    }

    /** {@code vocab_size}. Required. */
    public int vocabSize() {
        return requireIntAlias("vocab_size");
    }

    /** {@code max_position_embeddings} (aliases {@code n_positions}, {@code n_ctx}). Required. */
    public int maxPositionEmbeddings() {
        return requireIntAlias("max_position_embeddings", "n_positions", "n_ctx");
    }

    /**
     * The normalization epsilon, whichever spelling the architecture uses: {@code rms_norm_eps},
     * {@code layer_norm_eps}, {@code layer_norm_epsilon}, {@code norm_eps}, {@code norm_epsilon}.
     * Required.
     */
    public double normEps() {
        for (String k : List.of("rms_norm_eps", "layer_norm_eps", "layer_norm_epsilon", "norm_eps", "norm_epsilon")) {
            OptionalDouble v = optionalDouble(k);
            if (v.isPresent()) {
                return v.getAsDouble();
            }
        }
        throw missing("rms_norm_eps (or layer_norm_eps, layer_norm_epsilon, norm_eps, norm_epsilon)");
    }

    /** The rotary base for every layer; see {@link #ropeTheta(String)}. */
    public double ropeTheta() {
        return ropeTheta(null);
    }

    /**
     * The rotary base for layers of {@code layerType} (an entry of {@link #layerTypes()}, or
     * null): {@code rope_parameters[.layerType].rope_theta} (transformers 5), else top-level
     * {@code rope_theta}, else 10000 (transformers' default). Gemma-3's older spelling is
     * honoured too: {@code rope_local_base_freq} is the base of {@code "sliding_attention"} layers.
     */
    public double ropeTheta(String layerType) {
        RopeNode r = ropeNode(layerType);
        if (r != null && r.obj().isObject()) {
            JsonNode t = r.obj().get("rope_theta");
            if (t != null && !t.isNull()) {
                return toDouble(t, r.field() + ".rope_theta");
            }
        }
        if ("sliding_attention".equals(layerType) && has("rope_local_base_freq")) {
            return getDouble("rope_local_base_freq", 10000.0);
        }
        return getDouble("rope_theta", 10000.0);
    }

    /** The rotary scaling for every layer; see {@link #ropeScaling(String)}. */
    public RopeScaling ropeScaling() {
        return ropeScaling(null);
    }

    /**
     * Rotary scaling for layers of {@code layerType} (or null for "all layers"), from
     * {@code rope_parameters} (transformers 5; may be keyed by layer type, e.g.
     * {@code {"full_attention": {...}, "sliding_attention": {...}}}; null asks for
     * {@code full_attention}) or else {@code rope_scaling} (type in {@code rope_type} or the
     * older {@code type}). {@link RopeScaling#NONE} when neither is set. rope_theta and
     * partial_rotary_factor are not scaling and are left out (see {@link #ropeTheta(String)},
     * {@link #partialRotaryFactor()}). {@code original_max_position_embeddings} is copied in
     * from the top level when only there (Phi-3). With Gemma-3's older spelling
     * ({@code rope_local_base_freq} present), sliding layers get no scaling, as in transformers.
     *
     * @throws ConfigException on an unknown rope type or a mistyped parameter
     */
    public RopeScaling ropeScaling(String layerType) {
        RopeNode r = ropeNode(layerType);
        if (r == null) {
            return RopeScaling.NONE;
        }
        if (!r.obj().isObject()) {
            throw wrongType(r.field(), r.obj(), "an object such as {\"rope_type\": \"linear\", \"factor\": 2.0}");
        }
        RopeScaling full = toRope(r.obj(), r.field());
        Map<String, Object> p = new LinkedHashMap<>(full.parameters());
        p.remove("rope_theta");
        p.remove("partial_rotary_factor");
        return new RopeScaling(full.type(), p);
    }

    /** The JSON object holding rope settings for {@code layerType}, and its field path. */
    private record RopeNode(JsonNode obj, String field) {
    }

    /** Null when the config has no rope settings for {@code layerType}. */
    private RopeNode ropeNode(String layerType) {
        JsonNode params = node("rope_parameters");
        if (params != null && params.isObject() && isPerLayerType(params)) {
            String key = layerType != null ? layerType : "full_attention";
            JsonNode sub = params.get(key);
            if (sub == null || sub.isNull()) {
                if (layerType == null) {
                    throw new ConfigException(source + ": " + prefix + "rope_parameters is given per layer type "
                            + fieldNames(params) + "; ask for one of them (ropeScaling(layerType))");
                }
                return null;
            }
            return new RopeNode(sub, "rope_parameters." + key);
        }
        if (params != null) {
            return new RopeNode(params, "rope_parameters");
        }
        if ("sliding_attention".equals(layerType) && has("rope_local_base_freq")) {
            return null; // Gemma-3 (transformers 4): local layers use plain rope
        }
        JsonNode scaling = node("rope_scaling");
        return scaling == null ? null : new RopeNode(scaling, "rope_scaling");
    }

    private static boolean isPerLayerType(JsonNode params) {
        if (params.isEmpty() || params.has("rope_type") || params.has("type")) {
            return false;
        }
        for (Map.Entry<String, JsonNode> e : params.properties()) {
            if (!e.getValue().isObject() && !e.getValue().isNull()) {
                return false;
            }
        }
        return true;
    }

    private RopeScaling toRope(JsonNode obj, String field) {
        JsonNode typeNode = obj.has("rope_type") && !obj.get("rope_type").isNull() ? obj.get("rope_type") : obj.get("type");
        String typeKey = obj.has("rope_type") && !obj.get("rope_type").isNull() ? "rope_type" : "type";
        RopeScaling.Type type;
        if (typeNode == null || typeNode.isNull()) {
            if (field.startsWith("rope_parameters")) {
                type = RopeScaling.Type.DEFAULT; // transformers 5 always writes it; be lenient
            } else {
                throw new ConfigException(source + ": " + prefix + field + " has no rope_type (or type);"
                        + " expected one of " + ropeTypeNames());
            }
        } else if (!typeNode.isTextual()) {
            throw wrongType(field + "." + typeKey, typeNode, "a string, one of " + ropeTypeNames());
        } else {
            type = ropeType(typeNode.textValue(), field + "." + typeKey);
        }
        Map<String, Object> p = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : obj.properties()) {
            String k = e.getKey();
            JsonNode v = e.getValue();
            if (k.equals("rope_type") || k.equals("type") || v.isNull()) {
                continue;
            }
            String at = field + "." + k;
            switch (k) {
                case "factor", "low_freq_factor", "high_freq_factor", "beta_fast", "beta_slow",
                     "attention_factor", "mscale", "mscale_all_dim", "rope_theta", "partial_rotary_factor" ->
                        p.put(k, toDouble(v, at));
                case "original_max_position_embeddings" -> p.put(k, (long) toInt(v, at));
                case "short_factor", "long_factor" -> p.put(k, toDoubleList(v, at));
                default -> p.put(k, toJava(v));
            }
        }
        if (!p.containsKey("original_max_position_embeddings")) {
            OptionalInt top = optionalInt("original_max_position_embeddings");
            if (top.isPresent()) {
                p.put("original_max_position_embeddings", (long) top.getAsInt());
            }
        }
        return new RopeScaling(type, p);
    }

    private RopeScaling.Type ropeType(String s, String at) {
        String t = s.toLowerCase(Locale.ROOT);
        switch (t) {
            case "su" -> {
                return RopeScaling.Type.LONGROPE; // Phi-3's first spelling of longrope
            }
            case "mrope" -> {
                return RopeScaling.Type.DEFAULT; // Qwen2-VL: plain rope plus mrope_section
            }
            default -> {
                for (RopeScaling.Type x : RopeScaling.Type.values()) {
                    if (x.configName().equals(t)) {
                        return x;
                    }
                }
            }
        }
        throw new ConfigException(source + ": " + prefix + at + " is \"" + SafetensorsFile.snippet(s)
                + "\", which jvllm does not implement; expected one of " + ropeTypeNames());
    }

    private static String ropeTypeNames() {
        List<String> names = new ArrayList<>();
        for (RopeScaling.Type x : RopeScaling.Type.values()) {
            names.add(x.configName());
        }
        return String.join(", ", names);
    }

    /**
     * {@code partial_rotary_factor} (top level, else inside rope_parameters): the fraction of
     * head_dim that is rotated; 1.0 when absent. Must be in (0, 1].
     */
    public double partialRotaryFactor() {
        OptionalDouble top = optionalDouble("partial_rotary_factor");
        double f;
        if (top.isPresent()) {
            f = top.getAsDouble();
        } else {
            RopeNode r = ropeNode(null);
            JsonNode p = r == null || !r.obj().isObject() ? null : r.obj().get("partial_rotary_factor");
            f = p == null || p.isNull() ? 1.0 : toDouble(p, r.field() + ".partial_rotary_factor");
        }
        if (!(f > 0 && f <= 1)) {
            throw new ConfigException(source + ": " + prefix + "partial_rotary_factor is " + f + ", expected a value in (0, 1]");
        }
        return f;
    }

    /**
     * {@code tie_word_embeddings}; true when absent. Why true: it is PretrainedConfig's default,
     * and transformers' {@code save_pretrained} omits a field only when it equals that default
     * (and the model class's), so an absent field in a saved config means true. Hand-written
     * configs can differ; see {@link #tieWordEmbeddings(boolean)}.
     */
    public boolean tieWordEmbeddings() {
        return tieWordEmbeddings(true);
    }

    /** {@code tie_word_embeddings}, with the caller's default for when it is absent. */
    public boolean tieWordEmbeddings(boolean defaultWhenAbsent) {
        return getBoolean("tie_word_embeddings", defaultWhenAbsent);
    }

    /**
     * {@code sliding_window} in tokens; empty when absent or null, or when
     * {@code use_sliding_window} is false (Qwen2 writes a window it does not use).
     */
    public OptionalInt slidingWindow() {
        if (!getBoolean("use_sliding_window", true)) {
            return OptionalInt.empty();
        }
        return optionalInt("sliding_window");
    }

    /**
     * {@code layer_types}, e.g. {@code ["sliding_attention", "full_attention", ...]} or a hybrid's
     * {@code ["mamba", "attention", ...]}; empty when absent. When present it must have
     * {@code num_hidden_layers} entries. Architectures whose older configs lack it derive it
     * themselves (Gemma-2 alternates, Gemma-3 uses {@code sliding_window_pattern}).
     */
    public List<String> layerTypes() {
        List<String> types = getStringList("layer_types");
        if (!types.isEmpty()) {
            OptionalInt n = optionalIntAlias("num_hidden_layers", "n_layer", "num_layers");
            if (n.isPresent() && n.getAsInt() != types.size()) {
                throw new ConfigException(source + ": " + prefix + "layer_types has " + types.size()
                        + " entries but num_hidden_layers is " + n.getAsInt() + "; they must agree");
            }
        }
        return types;
    }

    /**
     * The MLP activation name as transformers spells it ({@code "silu"}, {@code "gelu_pytorch_tanh"}):
     * {@code hidden_activation} (Gemma; preferred when set), else {@code hidden_act}, else
     * {@code activation_function} (GPT-2), else {@code "silu"} (Llama's default).
     */
    public String hiddenAct() {
        for (String k : List.of("hidden_activation", "hidden_act", "activation_function")) {
            Optional<String> v = optionalString(k);
            if (v.isPresent()) {
                return v.get();
            }
        }
        return "silu";
    }

    /** {@code attention_bias}: biases on q/k/v/o projections; false when absent. */
    public boolean attentionBias() {
        return getBoolean("attention_bias", false);
    }

    /** {@code mlp_bias}: biases on the MLP projections; false when absent. */
    public boolean mlpBias() {
        return getBoolean("mlp_bias", false);
    }

    /** The dtype the checkpoint was saved in: {@code dtype} (transformers 5) or {@code torch_dtype}, as written. */
    public Optional<String> torchDtype() {
        Optional<String> d = optionalString("dtype");
        return d.isPresent() ? d : optionalString("torch_dtype");
    }

    /**
     * {@link #torchDtype()} as a {@link DType}: float32/float16/bfloat16 (with or without
     * {@code torch.}), empty when absent.
     *
     * @throws ConfigException for a dtype jvllm has no activation type for (e.g. float64)
     */
    public Optional<DType> dtype() {
        Optional<String> d = torchDtype();
        if (d.isEmpty()) {
            return Optional.empty();
        }
        String s = d.get().startsWith("torch.") ? d.get().substring(6) : d.get();
        return Optional.of(switch (s) {
            case "float32", "float" -> DType.F32;
            case "float16", "half" -> DType.F16;
            case "bfloat16" -> DType.BF16;
            default -> throw new ConfigException(source + ": " + prefix + (has("dtype") ? "dtype" : "torch_dtype")
                    + " is \"" + SafetensorsFile.snippet(d.get()) + "\", expected float32, float16 or bfloat16");
        });
    }

    /** {@code bos_token_id}, if set. */
    public OptionalInt bosTokenId() {
        return optionalInt("bos_token_id");
    }

    /** {@code eos_token_id}: one id or a list of ids (Llama-3 has several); empty when absent. */
    public List<Integer> eosTokenIds() {
        JsonNode n = node("eos_token_id");
        if (n == null) {
            return List.of();
        }
        return n.isArray() ? getIntList("eos_token_id") : List.of(toInt(n, "eos_token_id"));
    }

    /** {@code pad_token_id}, if set. */
    public OptionalInt padTokenId() {
        return optionalInt("pad_token_id");
    }

    // ---------------------------------------------------------------------------------------
    // Generic getters.

    /** True if {@code key} is present with a non-null value. */
    public boolean has(String key) {
        return node(key) != null;
    }

    /** The top-level keys, in file order. */
    public Set<String> keys() {
        Set<String> s = new LinkedHashSet<>();
        root.fieldNames().forEachRemaining(s::add);
        return Collections.unmodifiableSet(s);
    }

    public int getInt(String key, int def) {
        OptionalInt v = optionalInt(key);
        return v.isPresent() ? v.getAsInt() : def;
    }

    public long getLong(String key, long def) {
        JsonNode n = node(key);
        return n == null ? def : toLong(n, key);
    }

    public double getDouble(String key, double def) {
        OptionalDouble v = optionalDouble(key);
        return v.isPresent() ? v.getAsDouble() : def;
    }

    public boolean getBoolean(String key, boolean def) {
        Optional<Boolean> v = optionalBoolean(key);
        return v.orElse(def);
    }

    public String getString(String key, String def) {
        return optionalString(key).orElse(def);
    }

    public OptionalInt optionalInt(String key) {
        JsonNode n = node(key);
        return n == null ? OptionalInt.empty() : OptionalInt.of(toInt(n, key));
    }

    public OptionalDouble optionalDouble(String key) {
        JsonNode n = node(key);
        return n == null ? OptionalDouble.empty() : OptionalDouble.of(toDouble(n, key));
    }

    public Optional<Boolean> optionalBoolean(String key) {
        JsonNode n = node(key);
        if (n == null) {
            return Optional.empty();
        }
        if (!n.isBoolean()) {
            throw wrongType(key, n, "true or false");
        }
        return Optional.of(n.booleanValue());
    }

    public Optional<String> optionalString(String key) {
        JsonNode n = node(key);
        if (n == null) {
            return Optional.empty();
        }
        if (!n.isTextual()) {
            throw wrongType(key, n, "a string");
        }
        return Optional.of(n.textValue());
    }

    /** @throws ConfigException naming the field when absent or null */
    public int requireInt(String key) {
        return requireIntAlias(key);
    }

    /** @throws ConfigException naming the field when absent or null */
    public double requireDouble(String key) {
        OptionalDouble v = optionalDouble(key);
        if (v.isEmpty()) {
            throw missing(key);
        }
        return v.getAsDouble();
    }

    /** @throws ConfigException naming the field when absent or null */
    public String requireString(String key) {
        return optionalString(key).orElseThrow(() -> missing(key));
    }

    /**
     * A field as plain Java values, for nested structures with no typed accessor (a quantization
     * config's {@code config_groups}): objects become {@code Map<String, Object>} in file order,
     * arrays {@code List<Object>}, integers {@code Long}, other numbers {@code Double}, JSON null
     * inside them {@code null}. Empty when absent or null.
     */
    public Optional<Object> raw(String key) {
        JsonNode n = node(key);
        return n == null ? Optional.empty() : Optional.of(toJava(n));
    }

    /** A list of integers; empty when absent or null. */
    public List<Integer> getIntList(String key) {
        JsonNode n = array(key);
        List<Integer> out = new ArrayList<>();
        for (int i = 0; n != null && i < n.size(); i++) {
            out.add(toInt(n.get(i), key + "[" + i + "]"));
        }
        return Collections.unmodifiableList(out);
    }

    /** A list of numbers (non-finite allowed); empty when absent or null. */
    public List<Double> getDoubleList(String key) {
        JsonNode n = node(key);
        return n == null ? List.of() : toDoubleList(n, key);
    }

    /** A list of strings; empty when absent or null. */
    public List<String> getStringList(String key) {
        JsonNode n = array(key);
        List<String> out = new ArrayList<>();
        for (int i = 0; n != null && i < n.size(); i++) {
            JsonNode e = n.get(i);
            if (!e.isTextual()) {
                throw wrongType(key + "[" + i + "]", e, "a string");
            }
            out.add(e.textValue());
        }
        return Collections.unmodifiableList(out);
    }

    /**
     * A nested object as a config of its own (e.g. {@code text_config}, {@code vision_config});
     * its messages name the nesting ({@code config.json: text_config.hidden_size ...}).
     */
    public Optional<ModelConfig> subConfig(String key) {
        JsonNode n = node(key);
        if (n == null) {
            return Optional.empty();
        }
        if (!n.isObject()) {
            throw wrongType(key, n, "an object");
        }
        return Optional.of(new ModelConfig((ObjectNode) n, source, prefix + key + "."));
    }

    /** {@code text_config} when present (multimodal checkpoints), else this config. */
    public ModelConfig textConfig() {
        return subConfig("text_config").orElse(this);
    }

    // ---------------------------------------------------------------------------------------
    // Conversions. Every failure names the source, the field, the value and the expectation.

    /** The value, or null when absent or JSON null. */
    private JsonNode node(String key) {
        JsonNode n = root.get(key);
        return n == null || n.isNull() ? null : n;
    }

    private JsonNode array(String key) {
        JsonNode n = node(key);
        if (n != null && !n.isArray()) {
            throw wrongType(key, n, "a list");
        }
        return n;
    }

    private int requireIntAlias(String key, String... aliases) {
        OptionalInt v = optionalIntAlias(key, aliases);
        if (v.isEmpty()) {
            throw missing(aliases.length == 0 ? key : key + " (or " + String.join(", ", aliases) + ")");
        }
        return v.getAsInt();
    }

    private OptionalInt optionalIntAlias(String key, String... aliases) {
        OptionalInt v = optionalInt(key);
        for (int i = 0; v.isEmpty() && i < aliases.length; i++) {
            v = optionalInt(aliases[i]);
        }
        return v;
    }

    private int toInt(JsonNode n, String key) {
        long v = toLong(n, key);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw wrongType(key, n, "an integer that fits in 32 bits");
        }
        return (int) v;
    }

    private long toLong(JsonNode n, String key) {
        if (n.isIntegralNumber()) {
            if (!n.canConvertToLong()) {
                throw wrongType(key, n, "an integer that fits in 64 bits");
            }
            return n.longValue();
        }
        if (n.isNumber()) {
            double d = n.doubleValue();
            // Math.rint check: 4096.0 is an integer written by a float-happy tool; 0.5 is not.
            if (Double.isFinite(d) && d == Math.rint(d) && Math.abs(d) < 0x1p63) {
                return (long) d;
            }
        }
        throw wrongType(key, n, "an integer");
    }

    private double toDouble(JsonNode n, String key) {
        if (n.isNumber()) {
            return n.doubleValue();
        }
        if (n.isObject() && n.size() == 1 && n.has("__float__")) {
            JsonNode s = n.get("__float__");
            if (s.isTextual()) {
                switch (s.textValue()) {
                    case "Infinity", "inf", "+inf", "+Infinity" -> {
                        return Double.POSITIVE_INFINITY;
                    }
                    case "-Infinity", "-inf" -> {
                        return Double.NEGATIVE_INFINITY;
                    }
                    case "NaN", "nan" -> {
                        return Double.NaN;
                    }
                    default -> {
                    }
                }
            }
            throw wrongType(key, n, "{\"__float__\": \"Infinity\" | \"-Infinity\" | \"NaN\"}");
        }
        throw wrongType(key, n, "a number");
    }

    private List<Double> toDoubleList(JsonNode n, String key) {
        if (!n.isArray()) {
            throw wrongType(key, n, "a list of numbers");
        }
        List<Double> out = new ArrayList<>(n.size());
        for (int i = 0; i < n.size(); i++) {
            out.add(toDouble(n.get(i), key + "[" + i + "]"));
        }
        return Collections.unmodifiableList(out);
    }

    /** JSON → plain Java values for RopeScaling's raw parameters (nulls kept inside lists/maps). */
    private static Object toJava(JsonNode v) {
        if (v.isIntegralNumber()) {
            return v.canConvertToLong() ? (Object) v.longValue() : (Object) v.doubleValue();
        }
        if (v.isNumber()) {
            return v.doubleValue();
        }
        if (v.isTextual()) {
            return v.textValue();
        }
        if (v.isBoolean()) {
            return v.booleanValue();
        }
        if (v.isArray()) {
            List<Object> l = new ArrayList<>(v.size());
            for (JsonNode e : v) {
                l.add(e.isNull() ? null : toJava(e));
            }
            return Collections.unmodifiableList(l);
        }
        if (v.isObject()) {
            if (v.size() == 1 && v.has("__float__") && v.get("__float__").isTextual()) {
                String s = v.get("__float__").textValue();
                if (s.equals("Infinity")) {
                    return Double.POSITIVE_INFINITY;
                }
                if (s.equals("-Infinity")) {
                    return Double.NEGATIVE_INFINITY;
                }
                if (s.equals("NaN")) {
                    return Double.NaN;
                }
            }
            Map<String, Object> m = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> e : v.properties()) {
                m.put(e.getKey(), e.getValue().isNull() ? null : toJava(e.getValue()));
            }
            return Collections.unmodifiableMap(m);
        }
        return v.toString();
    }

    private static String fieldNames(JsonNode obj) {
        List<String> names = new ArrayList<>();
        obj.fieldNames().forEachRemaining(names::add);
        return names.toString();
    }

    private ConfigException wrongType(String key, JsonNode found, String expected) {
        return new ConfigException(source + ": " + prefix + key + " is " + SafetensorsFile.kind(found)
                + ", expected " + expected);
    }

    private ConfigException missing(String key) {
        return new ConfigException(source + ": " + prefix + key + " is missing (or null); the model needs it."
                + " Is this the config.json of a supported architecture?");
    }

    /** The JSON this view reads, for debugging. */
    @Override
    public String toString() {
        return source + (prefix.isEmpty() ? "" : " (" + prefix.substring(0, prefix.length() - 1) + ")") + ": " + root;
    }
}
