package dev.jvllm.models;

import dev.jvllm.models.layers.ModelContext;
import java.util.Map;
import java.util.function.Function;

/**
 * Out-of-tree architectures: a jar lists its provider in
 * {@code META-INF/services/dev.jvllm.models.ModelProvider}; {@link ModelRegistry} adds its
 * architectures (config.json {@code architectures} names) to the built-in ones.
 */
public interface ModelProvider {
    /** Architecture name → constructor from a model context. */
    Map<String, Function<ModelContext, CausalLM>> architectures();
}
