package dev.jvllm.models.layers;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.models.loader.ModelConfig;
import dev.jvllm.models.quant.QuantizationConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What every layer constructor receives with its prefix (vLLM's {@code VllmConfig} + platform):
 * the model config, this rank's tensor-parallel placement, the backend, and the dtypes.
 *
 * <p>It also owns the device memory layers allocate for weights (closed with the model) and the
 * registry of attention layers by prefix, where a duplicate prefix is an error.
 */
public final class ModelContext implements AutoCloseable {
    private final ModelConfig config;
    private final ParallelConfig parallel;
    private final Backend backend;
    private final DType activationDType;
    private final DType weightDType; // null: keep the checkpoint's float dtype
    private final QuantizationConfig quantization;
    private final List<Tensor> owned = new ArrayList<>();
    private final Map<String, Object> attentionLayers = new LinkedHashMap<>();
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final Map<String, List<StateSpec>> stateLayers = new LinkedHashMap<>();
    private final Map<Object, Object> shared = new java.util.HashMap<>();

    /**
     * One per-sequence state tensor a stateful layer needs (conv state, SSM state, ...): the
     * engine allocates {@code [numSlots, shape...]} of it next to the KV cache.
     */
    public record StateSpec(String name, DType dtype, int... shape) {
        public StateSpec {
            shape = shape.clone();
        }

        @Override
        public int[] shape() {
            return shape.clone();
        }
    }

    /**
     * @param activationDType dtype of activations between ops (F32 on the CPU engine)
     * @param weightDType     dtype dense weights are stored in, or null to keep each checkpoint
     *                        tensor's own float dtype (zero-copy on the CPU)
     */
    public ModelContext(ModelConfig config, ParallelConfig parallel, Backend backend, DType activationDType,
            DType weightDType) {
        this(config, parallel, backend, activationDType, weightDType, QuantizationConfig.none());
    }

    /** @param quantization the checkpoint's quantization, which decides each linear layer's weight format by prefix */
    public ModelContext(ModelConfig config, ParallelConfig parallel, Backend backend, DType activationDType,
            DType weightDType, QuantizationConfig quantization) {
        this.config = config;
        this.parallel = parallel;
        this.backend = backend;
        this.activationDType = activationDType;
        this.weightDType = weightDType;
        this.quantization = java.util.Objects.requireNonNull(quantization, "quantization");
    }

    public ModelConfig config() {
        return config;
    }

    public ParallelConfig parallel() {
        return parallel;
    }

    public Backend backend() {
        return backend;
    }

    public DType activationDType() {
        return activationDType;
    }

    /** The checkpoint's quantization ({@link QuantizationConfig#none()} for full precision). */
    public QuantizationConfig quantization() {
        return quantization;
    }

    /** The dtype a dense weight stored as {@code checkpointDType} is kept in. */
    public DType weightDType(DType checkpointDType) {
        return weightDType != null ? weightDType : checkpointDType;
    }

    /** Records a tensor the model owns; it is closed with the context. */
    public Tensor own(Tensor t) {
        owned.add(t);
        return t;
    }

    /**
     * Registers an attention layer by prefix (the engine finds each layer's KV cache this way).
     *
     * @throws IllegalArgumentException when the prefix is already taken
     */
    public void registerAttention(String prefix, Object layer) {
        if (attentionLayers.putIfAbsent(prefix, layer) != null) {
            throw new IllegalArgumentException("duplicate attention layer prefix " + prefix
                    + ": every attention layer needs its own prefix (its checkpoint name)");
        }
    }

    /**
     * Registers a stateful layer (Mamba mixer, short conv, linear attention) and the per-sequence
     * states it keeps, by prefix; a duplicate prefix is an error.
     */
    public void registerState(String prefix, List<StateSpec> specs) {
        if (stateLayers.putIfAbsent(prefix, List.copyOf(specs)) != null) {
            throw new IllegalArgumentException("duplicate stateful layer prefix " + prefix);
        }
    }

    /** Stateful layers in registration order, by prefix, with their per-sequence state specs. */
    public Map<String, List<StateSpec>> stateLayers() {
        return java.util.Collections.unmodifiableMap(stateLayers);
    }

    /** Attention layers in registration order, by prefix. */
    public Map<String, Object> attentionLayers() {
        return Map.copyOf(attentionLayers);
    }

    /**
     * The one value for {@code key} in this model, made by {@code make} on first use: layers that
     * derive identical tables (every layer's rotary cos/sin cache) share one copy, as vLLM's
     * {@code get_rope} does. The key must have value equality and capture every input of make.
     */
    @SuppressWarnings("unchecked")
    public <T> T shared(Object key, java.util.function.Supplier<T> make) {
        Object v = shared.get(key);
        if (v == null) {
            v = make.get();
            shared.put(key, v);
        }
        return (T) v;
    }

    /** Something to close after the weights (the checkpoint mapping they may live in). */
    public void onClose(AutoCloseable c) {
        closeables.add(c);
    }

    @Override
    public void close() {
        for (Tensor t : owned) {
            t.close();
        }
        owned.clear();
        for (AutoCloseable c : closeables) {
            try {
                c.close();
            } catch (Exception e) {
                throw new IllegalStateException("closing " + c + ": " + e.getMessage(), e);
            }
        }
        closeables.clear();
    }
}
