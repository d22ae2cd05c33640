package dev.jvllm.models.arch;

import dev.jvllm.models.loader.ModelConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * The tensors of a Hugging Face checkpoint of a config, as {@code save_pretrained} names and shapes
 * them: what a random checkpoint ({@code jvllm save-random}, {@code --load-format dummy}) must hold
 * so that this project, transformers and other engines all load it. It mirrors the architectures'
 * constructors config key by key (same defaults), and its test holds it to every committed
 * transformers fixture.
 *
 * <p>Not listed: buffers the loaders skip (rotary {@code inv_freq}, MiniMax's decay tables, GPT-2's
 * {@code attn.bias} masks) and {@code lm_head.weight} of a model with tied embeddings.
 */
public final class CheckpointLayout {
    /** One checkpoint tensor: its name and shape (outermost first). */
    public record Entry(String name, long[] shape) {
        public Entry {
            shape = shape.clone();
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        /** Product of the dims. */
        public long numel() {
            long n = 1;
            for (long d : shape) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        }
    }

    private final List<Entry> entries = new ArrayList<>();
    private final ModelConfig c;

    private CheckpointLayout(ModelConfig c) {
        this.c = c;
    }

    /**
     * The checkpoint tensors of {@code config}, in model order (embedding, layers, final norm, head).
     *
     * @throws IllegalArgumentException for an architecture this project does not implement
     */
    public static List<Entry> of(ModelConfig config) {
        CheckpointLayout l = new CheckpointLayout(config);
        String arch = config.architectures().isEmpty() ? "" : config.architectures().getFirst();
        switch (arch) {
            case "LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM", "Phi3ForCausalLM",
                    "MixtralForCausalLM", "Gemma2ForCausalLM" -> l.llamaFamily(arch);
            case "OPTForCausalLM" -> l.opt();
            case "GPT2LMHeadModel" -> l.gpt2();
            case "MambaForCausalLM" -> l.mamba();
            case "Mamba2ForCausalLM" -> l.mamba2();
            case "JambaForCausalLM" -> l.jamba();
            case "BambaForCausalLM" -> l.bamba();
            case "Lfm2ForCausalLM" -> l.lfm2();
            case "MiniMaxForCausalLM", "MiniMaxText01ForCausalLM" -> l.minimax();
            default -> throw new IllegalArgumentException(config.source() + ": no checkpoint layout for architectures "
                    + config.architectures() + "; random checkpoints can be made for " + SUPPORTED);
        }
        return List.copyOf(l.entries);
    }

    /** The architectures {@link #of} knows. */
    public static final List<String> SUPPORTED = List.of("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM",
            "Qwen3ForCausalLM", "Phi3ForCausalLM", "MixtralForCausalLM", "Gemma2ForCausalLM", "OPTForCausalLM",
            "GPT2LMHeadModel", "MambaForCausalLM", "Mamba2ForCausalLM", "JambaForCausalLM", "BambaForCausalLM",
            "Lfm2ForCausalLM", "MiniMaxForCausalLM", "MiniMaxText01ForCausalLM");

    // ---- building blocks -------------------------------------------------------------------

    private void add(String name, long... shape) {
        entries.add(new Entry(name, shape));
    }

    /** {@code prefix.weight} [out, in] and, with a bias, {@code prefix.bias} [out]. */
    private void linear(String prefix, long out, long in, boolean bias) {
        add(prefix + ".weight", out, in);
        if (bias) {
            add(prefix + ".bias", out);
        }
    }

    private void norm(String prefix, long size, boolean bias) {
        add(prefix + ".weight", size);
        if (bias) {
            add(prefix + ".bias", size);
        }
    }

    private void embeddingAndHead(String embedName, String finalNormName, boolean finalNormBias, boolean tied,
            Runnable layers) {
        int h = c.hiddenSize();
        add(embedName + ".weight", c.vocabSize(), h);
        layers.run();
        if (finalNormName != null) {
            norm(finalNormName, h, finalNormBias);
        }
        if (!tied) {
            add("lm_head.weight", c.vocabSize(), h);
        }
    }

    /** q/k/v/o projections of GQA attention; {@code fusedQkv}: Phi-3's one {@code qkv_proj}. */
    private void attention(String p, boolean qkvBias, boolean oBias, String oName, boolean fusedQkv) {
        int h = c.hiddenSize();
        long q = (long) c.numAttentionHeads() * c.headDim();
        long kv = (long) c.numKeyValueHeads() * c.headDim();
        if (fusedQkv) {
            linear(p + ".qkv_proj", q + 2 * kv, h, qkvBias);
        } else {
            linear(p + ".q_proj", q, h, qkvBias);
            linear(p + ".k_proj", kv, h, qkvBias);
            linear(p + ".v_proj", kv, h, qkvBias);
        }
        linear(p + "." + oName, h, q, oBias);
    }

    /** A SiLU-gated MLP's three projections, named e.g. gate_proj/up_proj/down_proj or w1/w3/w2. */
    private void gatedMlp(String p, String gate, String up, String down, long inter, boolean bias) {
        int h = c.hiddenSize();
        linear(p + "." + gate, inter, h, bias);
        linear(p + "." + up, inter, h, bias);
        linear(p + "." + down, h, inter, bias);
    }

    /** A router plus {@code experts} gated MLPs (Mixtral's w1/w3/w2, Jamba's gate/up/down). */
    private void moe(String p, String router, int experts, String gate, String up, String down) {
        add(p + "." + router + ".weight", experts, c.hiddenSize());
        for (int e = 0; e < experts; e++) {
            gatedMlp(p + ".experts." + e, gate, up, down, c.intermediateSize(), false);
        }
    }

    /** Mamba-1 mixer; {@code innerNorms}: Jamba's RMSNorms of dt, B and C. */
    private void mambaMixer(String p, long inner, long state, long kernel, long dtRank, boolean bias, boolean convBias,
            boolean innerNorms) {
        int h = c.hiddenSize();
        linear(p + ".in_proj", 2 * inner, h, bias);
        add(p + ".conv1d.weight", inner, 1, kernel);
        if (convBias) {
            add(p + ".conv1d.bias", inner);
        }
        add(p + ".x_proj.weight", dtRank + 2 * state, inner);
        linear(p + ".dt_proj", inner, dtRank, true);
        add(p + ".A_log", inner, state);
        add(p + ".D", inner);
        linear(p + ".out_proj", h, inner, bias);
        if (innerNorms) {
            add(p + ".dt_layernorm.weight", dtRank);
            add(p + ".b_layernorm.weight", state);
            add(p + ".c_layernorm.weight", state);
        }
    }

    /** Mamba-2 mixer: in_proj → [z | x B C | dt], depthwise conv over x B C, gated norm over z. */
    private void mamba2Mixer(String p, long heads, long headDim, long groups, long state, long kernel, boolean bias,
            boolean convBias) {
        int h = c.hiddenSize();
        long inner = heads * headDim;
        long convDim = inner + 2 * groups * state;
        linear(p + ".in_proj", inner + convDim + heads, h, bias);
        add(p + ".conv1d.weight", convDim, 1, kernel);
        if (convBias) {
            add(p + ".conv1d.bias", convDim);
        }
        add(p + ".dt_bias", heads);
        add(p + ".A_log", heads);
        add(p + ".D", heads);
        add(p + ".norm.weight", inner);
        linear(p + ".out_proj", h, inner, bias);
    }

    // ---- architectures ---------------------------------------------------------------------

    private void llamaFamily(String arch) {
        boolean gemma = arch.equals("Gemma2ForCausalLM");
        boolean qwen2 = arch.equals("Qwen2ForCausalLM");
        int h = c.hiddenSize();
        // Gemma-2 always ties (its loader skips lm_head.weight)
        embeddingAndHead("model.embed_tokens", "model.norm", false, gemma || c.tieWordEmbeddings(), () -> {
            for (int i = 0; i < c.numHiddenLayers(); i++) {
                String p = "model.layers." + i;
                norm(p + ".input_layernorm", h, false);
                boolean qkvBias = qwen2 || c.attentionBias();
                boolean oBias = !qwen2 && c.attentionBias();
                attention(p + ".self_attn", qkvBias, oBias, "o_proj", arch.equals("Phi3ForCausalLM"));
                if (arch.equals("Qwen3ForCausalLM")) {
                    norm(p + ".self_attn.q_norm", c.headDim(), false);
                    norm(p + ".self_attn.k_norm", c.headDim(), false);
                }
                norm(p + ".post_attention_layernorm", h, false);
                if (gemma) {
                    norm(p + ".pre_feedforward_layernorm", h, false);
                    norm(p + ".post_feedforward_layernorm", h, false);
                }
                if (arch.equals("MixtralForCausalLM")) {
                    moe(p + ".block_sparse_moe", "gate", c.getInt("num_local_experts", 8), "w1", "w3", "w2");
                } else if (arch.equals("Phi3ForCausalLM")) {
                    linear(p + ".mlp.gate_up_proj", 2L * c.intermediateSize(), h, c.mlpBias());
                    linear(p + ".mlp.down_proj", h, c.intermediateSize(), c.mlpBias());
                } else {
                    gatedMlp(p + ".mlp", "gate_proj", "up_proj", "down_proj", c.intermediateSize(),
                            !gemma && c.mlpBias());
                }
            }
        });
    }

    private void opt() {
        int h = c.hiddenSize();
        boolean bias = c.getBoolean("enable_bias", true);
        boolean finalNorm = c.getBoolean("do_layer_norm_before", true) && !c.getBoolean("_remove_final_layer_norm", false);
        String d = "model.decoder";
        embeddingAndHead(d + ".embed_tokens", null, false, c.tieWordEmbeddings(), () -> {
            add(d + ".embed_positions.weight", c.maxPositionEmbeddings() + OPTForCausalLM.POSITION_OFFSET, h);
            for (int i = 0; i < c.numHiddenLayers(); i++) {
                String p = d + ".layers." + i;
                norm(p + ".self_attn_layer_norm", h, true);
                for (String proj : List.of("q_proj", "k_proj", "v_proj", "out_proj")) {
                    linear(p + ".self_attn." + proj, h, h, bias);
                }
                norm(p + ".final_layer_norm", h, true);
                linear(p + ".fc1", c.intermediateSize(), h, bias);
                linear(p + ".fc2", h, c.intermediateSize(), bias);
            }
            if (finalNorm) {
                norm(d + ".final_layer_norm", h, true);
            }
        });
    }

    /** GPT-2's Conv1D layers store W as [in, out]. */
    private void gpt2() {
        int h = c.hiddenSize();
        int inner = c.getInt("n_inner", 4 * h);
        embeddingAndHead("transformer.wte", "transformer.ln_f", true, c.tieWordEmbeddings(), () -> {
            add("transformer.wpe.weight", c.maxPositionEmbeddings(), h);
            for (int i = 0; i < c.numHiddenLayers(); i++) {
                String p = "transformer.h." + i;
                norm(p + ".ln_1", h, true);
                add(p + ".attn.c_attn.weight", h, 3L * h);
                add(p + ".attn.c_attn.bias", 3L * h);
                add(p + ".attn.c_proj.weight", h, h);
                add(p + ".attn.c_proj.bias", h);
                norm(p + ".ln_2", h, true);
                add(p + ".mlp.c_fc.weight", h, inner);
                add(p + ".mlp.c_fc.bias", inner);
                add(p + ".mlp.c_proj.weight", inner, h);
                add(p + ".mlp.c_proj.bias", h);
            }
        });
    }

    private void mamba() {
        int h = c.hiddenSize();
        int inner = c.getInt("intermediate_size", c.getInt("expand", 2) * h);
        embeddingAndHead("backbone.embeddings", "backbone.norm_f", false, c.tieWordEmbeddings(), () -> {
            for (int i = 0; i < c.numHiddenLayers(); i++) {
                String p = "backbone.layers." + i;
                norm(p + ".norm", h, false);
                mambaMixer(p + ".mixer", inner, c.getInt("state_size", 16), c.getInt("conv_kernel", 4),
                        MambaForCausalLM.dtRank(c, "time_step_rank"), c.getBoolean("use_bias", false),
                        c.getBoolean("use_conv_bias", true), false);
            }
        });
    }

    private void mamba2() {
        int h = c.hiddenSize();
        embeddingAndHead("backbone.embeddings", "backbone.norm_f", false, c.tieWordEmbeddings(), () -> {
            for (int i = 0; i < c.numHiddenLayers(); i++) {
                String p = "backbone.layers." + i;
                norm(p + ".norm", h, false);
                mamba2Mixer(p + ".mixer", c.getInt("num_heads", 128), c.getInt("head_dim", 64), c.getInt("n_groups", 1),
                        c.getInt("state_size", 128), c.getInt("conv_kernel", 4), c.getBoolean("use_bias", false),
                        c.getBoolean("use_conv_bias", true));
            }
        });
    }

    private void jamba() {
        int h = c.hiddenSize();
        int attnPeriod = c.getInt("attn_layer_period", 8), attnOffset = c.getInt("attn_layer_offset", 4);
        int expertPeriod = c.getInt("expert_layer_period", 2), expertOffset = c.getInt("expert_layer_offset", 1);
        int experts = c.getInt("num_experts", 16);
        embeddingAndHead("model.embed_tokens", "model.final_layernorm", false, c.tieWordEmbeddings(), () -> {
            for (int i = 0; i < c.numHiddenLayers(); i++) {
                String p = "model.layers." + i;
                norm(p + ".input_layernorm", h, false);
                if (i % attnPeriod == attnOffset) {
                    attention(p + ".self_attn", false, false, "o_proj", false);
                } else {
                    mambaMixer(p + ".mamba", (long) c.getInt("mamba_expand", 2) * h, c.getInt("mamba_d_state", 16),
                            c.getInt("mamba_d_conv", 4), MambaForCausalLM.dtRank(c, "mamba_dt_rank"),
                            c.getBoolean("mamba_proj_bias", false), c.getBoolean("mamba_conv_bias", true), true);
                }
                norm(p + ".pre_ff_layernorm", h, false);
                if (experts > 1 && i % expertPeriod == expertOffset) {
                    moe(p + ".feed_forward", "router", experts, "gate_proj", "up_proj", "down_proj");
                } else {
                    gatedMlp(p + ".feed_forward", "gate_proj", "up_proj", "down_proj", c.intermediateSize(), false);
                }
            }
        });
    }

    private void bamba() {
        int h = c.hiddenSize();
        List<Integer> attn = c.getIntList("attn_layer_indices");
        embeddingAndHead("model.embed_tokens", "model.final_layernorm", false, c.tieWordEmbeddings(), () -> {
            for (int i = 0; i < c.numHiddenLayers(); i++) {
                String p = "model.layers." + i;
                norm(p + ".input_layernorm", h, false);
                if (attn.contains(i)) {
                    attention(p + ".self_attn", c.attentionBias(), c.attentionBias(), "o_proj", false);
                } else {
                    int heads = c.getInt("mamba_n_heads", 128);
                    mamba2Mixer(p + ".mamba", heads, c.getInt("mamba_d_head", c.getInt("mamba_expand", 2) * h / heads),
                            c.getInt("mamba_n_groups", 1), c.getInt("mamba_d_state", 256), c.getInt("mamba_d_conv", 4),
                            c.getBoolean("mamba_proj_bias", false), c.getBoolean("mamba_conv_bias", true));
                }
                norm(p + ".pre_ff_layernorm", h, false);
                gatedMlp(p + ".feed_forward", "gate_proj", "up_proj", "down_proj", c.intermediateSize(), c.mlpBias());
            }
        });
    }

    private void lfm2() {
        int h = c.hiddenSize();
        List<String> types = Lfm2ForCausalLM.layerTypes(c);
        embeddingAndHead("model.embed_tokens", "model.embedding_norm", false, c.tieWordEmbeddings(), () -> {
            for (int i = 0; i < c.numHiddenLayers(); i++) {
                String p = "model.layers." + i;
                norm(p + ".operator_norm", h, false);
                if (types.get(i).equals("full_attention")) {
                    attention(p + ".self_attn", false, false, "out_proj", false);
                    norm(p + ".self_attn.q_layernorm", c.headDim(), false);
                    norm(p + ".self_attn.k_layernorm", c.headDim(), false);
                } else {
                    boolean bias = c.getBoolean("conv_bias", false);
                    linear(p + ".conv.in_proj", 3L * h, h, bias);
                    linear(p + ".conv.out_proj", h, h, bias);
                    add(p + ".conv.conv.weight", h, 1, c.getInt("conv_L_cache", 3));
                    if (bias) {
                        add(p + ".conv.conv.bias", h);
                    }
                }
                norm(p + ".ffn_norm", h, false);
                gatedMlp(p + ".feed_forward", "w1", "w3", "w2", c.intermediateSize(), false);
            }
        });
    }

    private void minimax() {
        int h = c.hiddenSize();
        List<String> types = c.layerTypes();
        embeddingAndHead("model.embed_tokens", "model.norm", false, c.tieWordEmbeddings(), () -> {
            for (int i = 0; i < c.numHiddenLayers(); i++) {
                String p = "model.layers." + i;
                norm(p + ".input_layernorm", h, false);
                norm(p + ".post_attention_layernorm", h, false);
                if (!types.isEmpty() && types.get(i).equals("linear_attention")) {
                    long width = (long) c.numAttentionHeads() * c.headDim();
                    add(p + ".self_attn.qkv_proj.weight", 3 * width, h);
                    add(p + ".self_attn.output_gate.weight", width, h);
                    add(p + ".self_attn.out_proj.weight", h, width);
                    add(p + ".self_attn.norm.weight", width);
                } else {
                    attention(p + ".self_attn", false, false, "o_proj", false);
                }
                moe(p + ".block_sparse_moe", "gate", c.getInt("num_local_experts", 8), "w1", "w3", "w2");
            }
        });
    }
}
