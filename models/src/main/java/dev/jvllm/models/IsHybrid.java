package dev.jvllm.models;

/**
 * Marks a model that mixes attention layers (paged KV cache) with stateful layers (Mamba mixers,
 * short convolutions, linear attention) that keep per-sequence state: the engine allocates both.
 * State shapes and dtypes come from what the layers register with
 * {@code ModelContext.registerState} at construction, computed from the config (vLLM's
 * {@code get_mamba_state_shape_from_config}).
 */
public interface IsHybrid {
}
