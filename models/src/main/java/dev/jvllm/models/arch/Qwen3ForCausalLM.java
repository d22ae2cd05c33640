package dev.jvllm.models.arch;

import dev.jvllm.models.layers.ModelContext;

/** Qwen3: Llama's architecture with an RMSNorm over each head of q and k before rotary ({@code q_norm}, {@code k_norm}). */
public final class Qwen3ForCausalLM extends LlamaForCausalLM {
    public Qwen3ForCausalLM(ModelContext ctx) {
        super(ctx);
    }

    @Override
    protected boolean qkNorm() {
        return true;
    }

    @Override
    protected int slidingWindow(int layer) {
        int window = config.slidingWindow().orElse(0);
        return layer >= config.getInt("max_window_layers", 0) ? window : 0;
    }
}
