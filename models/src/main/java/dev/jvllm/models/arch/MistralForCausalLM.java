package dev.jvllm.models.arch;

import dev.jvllm.models.layers.ModelContext;

/** Mistral: Llama's architecture with a sliding window on every layer ({@code sliding_window}). */
public final class MistralForCausalLM extends LlamaForCausalLM {
    public MistralForCausalLM(ModelContext ctx) {
        super(ctx);
    }
}
