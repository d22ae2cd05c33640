package dev.jvllm.models.loader;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;

/**
 * How a model scales its rotary embedding, read from {@code rope_scaling} (transformers 4) or
 * {@code rope_parameters} (transformers 5) by {@link ModelConfig#ropeScaling()}.
 *
 * <p>{@code parameters} holds every key of the source object except the type key, as Java
 * values: numbers as {@link Double} (non-finite ones included), integers as {@link Long},
 * lists as {@link List}, strings, booleans, nested objects as {@link Map}. The well-known
 * numeric keys (factor, original_max_position_embeddings, low/high_freq_factor, beta_fast/slow,
 * attention_factor, mscale, mscale_all_dim, rope_theta, partial_rotary_factor) and the
 * longrope factor lists are type-checked when the config is read, so the typed accessors
 * below never fail. Defaults are transformers' ({@code _compute_*_parameters}).
 *
 * @param type       the scaling kind
 * @param parameters the remaining keys, unmodifiable
 */
public record RopeScaling(Type type, Map<String, Object> parameters) {

    /** Scaling kinds, named as transformers' {@code rope_type}. */
    public enum Type {
        /** No scaling ({@code "default"}; also Qwen2-VL's {@code "mrope"}, which only adds {@code mrope_section}). */
        DEFAULT("default"),
        /** Positions divided by {@code factor} ({@code "linear"}). */
        LINEAR("linear"),
        /** NTK-aware base scaling by sequence length ({@code "dynamic"}). */
        DYNAMIC("dynamic"),
        /** YaRN: beta_fast/beta_slow ramp, attention_factor, mscale ({@code "yarn"}). */
        YARN("yarn"),
        /** Llama 3.1 frequency-band scaling: low/high_freq_factor ({@code "llama3"}). */
        LLAMA3("llama3"),
        /** Phi-3 LongRoPE: per-dim short_factor/long_factor ({@code "longrope"}, formerly {@code "su"}). */
        LONGROPE("longrope");

        private final String configName;

        Type(String configName) {
            this.configName = configName;
        }

        /** The {@code rope_type} spelling. */
        public String configName() {
            return configName;
        }
    }

    /** No scaling. */
    public static final RopeScaling NONE = new RopeScaling(Type.DEFAULT, Map.of());

    public RopeScaling {
        parameters = Map.copyOf(parameters);
    }

    /** {@code factor}; 1.0 when absent. */
    public double factor() {
        return getDouble("factor", 1.0);
    }

    /** {@code original_max_position_embeddings} (filled from the top level of config.json when only there, as Phi-3 has it). */
    public OptionalInt originalMaxPositionEmbeddings() {
        return parameters.get("original_max_position_embeddings") instanceof Number n
                ? OptionalInt.of(n.intValue()) : OptionalInt.empty();
    }

    /** llama3: {@code low_freq_factor}; transformers requires it, 1.0 here when absent. */
    public double lowFreqFactor() {
        return getDouble("low_freq_factor", 1.0);
    }

    /** llama3: {@code high_freq_factor}; 4.0 when absent. */
    public double highFreqFactor() {
        return getDouble("high_freq_factor", 4.0);
    }

    /** yarn: {@code beta_fast}; 32 when absent. */
    public double betaFast() {
        return getDouble("beta_fast", 32.0);
    }

    /** yarn: {@code beta_slow}; 1 when absent. */
    public double betaSlow() {
        return getDouble("beta_slow", 1.0);
    }

    /** yarn/longrope: {@code attention_factor}; absent means "derive it from factor". */
    public OptionalDouble attentionFactor() {
        return optionalDouble("attention_factor");
    }

    /** yarn (DeepSeek variant): {@code mscale}. */
    public OptionalDouble mscale() {
        return optionalDouble("mscale");
    }

    /** yarn (DeepSeek variant): {@code mscale_all_dim}. */
    public OptionalDouble mscaleAllDim() {
        return optionalDouble("mscale_all_dim");
    }

    /** longrope: {@code short_factor}, one per rotary dim pair; empty when absent. */
    public double[] shortFactor() {
        return doubles("short_factor");
    }

    /** longrope: {@code long_factor}; empty when absent. */
    public double[] longFactor() {
        return doubles("long_factor");
    }

    /** Any numeric parameter; {@code def} when absent or not a number. */
    public double getDouble(String key, double def) {
        return parameters.get(key) instanceof Number n ? n.doubleValue() : def;
    }

    /** Any numeric parameter, if present. */
    public OptionalDouble optionalDouble(String key) {
        return parameters.get(key) instanceof Number n ? OptionalDouble.of(n.doubleValue()) : OptionalDouble.empty();
    }

    /** Any parameter as read (see the class comment for the Java types). */
    public Optional<Object> get(String key) {
        return Optional.ofNullable(parameters.get(key));
    }

    private double[] doubles(String key) {
        if (!(parameters.get(key) instanceof List<?> l)) {
            return new double[0];
        }
        double[] out = new double[l.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ((Number) l.get(i)).doubleValue();
        }
        return out;
    }
}
