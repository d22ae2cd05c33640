package dev.jvllm.models.arch;

import dev.jvllm.models.layers.ModelContext;

/**
 * Phi-3: Llama's architecture whose checkpoints store {@code qkv_proj} and {@code gate_up_proj}
 * fused; the parallel linear layers split them by head counts / halves at load time. LongRoPE
 * scaling comes from the config.
 */
public final class Phi3ForCausalLM extends LlamaForCausalLM {
    public Phi3ForCausalLM(ModelContext ctx) {
        super(ctx);
    }
}
