package dev.jvllm.models.arch;

import dev.jvllm.models.layers.ModelContext;

/**
 * Qwen2: Llama's architecture with biases on q/k/v (not on o_proj). Its sliding window applies
 * only when {@code use_sliding_window} is true (read by {@code ModelConfig.slidingWindow()}) and
 * then to layers from {@code max_window_layers} on.
 */
public final class Qwen2ForCausalLM extends LlamaForCausalLM {
    public Qwen2ForCausalLM(ModelContext ctx) {
        super(ctx);
    }

    @Override
    protected boolean qkvBias() {
        return true;
    }

    @Override
    protected boolean oBias() {
        return false;
    }

    @Override
    protected int slidingWindow(int layer) {
        int window = config.slidingWindow().orElse(0);
        return layer >= config.getInt("max_window_layers", 0) ? window : 0;
    }
}
