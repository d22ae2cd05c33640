package dev.jvllm.models;

/**
 * Marks a model with no attention layers (Mamba, Mamba-2): it keeps per-sequence state only, so
 * the engine allocates state slots and no KV cache. The states' shapes and dtypes are what the
 * model registers with {@code ModelContext.registerState} at construction (vLLM's
 * {@code get_mamba_state_shape_from_config}).
 */
public interface IsAttentionFree {
}
