#!/usr/bin/env python3
"""Writes model-parity fixtures with Hugging Face transformers as the oracle.

For every architecture in ARCHS: a tiny random checkpoint (save_pretrained, f32, every parameter
perturbed so that norms, biases and gates matter), then, for a few prompts of different lengths
(one longer than every sliding window), the f32 logits transformers computes and its greedy
continuation with the KV cache on. Each fixture directory holds:

  config.json, model.safetensors          the checkpoint, as save_pretrained wrote it
  expected.safetensors                    prompt_<i> (I32 [L]), logits_<i> (F32 [L, vocab]),
                                          greedy_<i> (I32 [N]: generated ids only)
  expected.json                           versions, prompts, greedy ids, notes

Run where torch + transformers exist (the GPU machine has them; a CPU is enough):
  python3 tools/oracle/make_fixtures.py OUT_DIR [ARCH ...]
Deterministic for a given torch/transformers version (seeded per architecture).
"""
import json
import math
import os
import sys
import traceback

import torch
import transformers
from safetensors.torch import save_file

VOCAB = 384
GREEDY_TOKENS = 16
PROMPT_LENGTHS = (5, 17, 41)  # 41 > every sliding window below (8)


def _rope(cfg_kwargs, rope):
    """Passes rope scaling in the spelling this transformers version takes."""
    cfg_kwargs["rope_scaling"] = rope
    return cfg_kwargs


def archs():
    T = transformers
    common = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                  rms_norm_eps=1e-5, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)
    a = {}
    a["llama"] = lambda: T.LlamaConfig(**_rope(dict(common, rope_theta=10000.0), {
        "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
        "original_max_position_embeddings": 32}))
    a["llama_tied_mha_linear"] = lambda: T.LlamaConfig(**_rope(dict(common, num_key_value_heads=4,
        tie_word_embeddings=True, attention_bias=True, mlp_bias=True), {"rope_type": "linear", "factor": 2.0}))
    a["llama_yarn"] = lambda: T.LlamaConfig(**_rope(dict(common), {
        "rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32, "beta_fast": 32.0,
        "beta_slow": 1.0}))
    # dynamic NTK: transformers rescales only past max_position_embeddings, which the prompts stay below
    a["llama_dynamic"] = lambda: T.LlamaConfig(**_rope(dict(common), {"rope_type": "dynamic", "factor": 2.0}))
    a["mistral"] = lambda: T.MistralConfig(**dict(common, sliding_window=8, head_dim=16))
    a["qwen2"] = lambda: T.Qwen2Config(**dict(common, tie_word_embeddings=True, use_sliding_window=False))
    a["qwen3"] = lambda: T.Qwen3Config(**dict(common, head_dim=32))
    a["phi3"] = lambda: T.Phi3Config(**_rope(dict(common, num_key_value_heads=4, max_position_embeddings=256,
        original_max_position_embeddings=64, pad_token_id=0), {
        "rope_type": "longrope", "short_factor": [1.0 + 0.1 * i for i in range(8)],
        "long_factor": [1.5 + 0.25 * i for i in range(8)]}))
    a["gemma2"] = lambda: T.Gemma2Config(**dict(common, num_hidden_layers=4, head_dim=16, sliding_window=8,
        query_pre_attn_scalar=24, attn_logit_softcapping=50.0, final_logit_softcapping=30.0,
        hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True, pad_token_id=0))
    a["opt"] = lambda: T.OPTConfig(vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2, ffn_dim=96,
        num_attention_heads=4, max_position_embeddings=128, word_embed_proj_dim=64, do_layer_norm_before=True,
        activation_function="relu", enable_bias=True, pad_token_id=0, bos_token_id=1, eos_token_id=2)
    a["gpt2"] = lambda: T.GPT2Config(vocab_size=VOCAB, n_positions=128, n_embd=64, n_layer=2, n_head=4,
        activation_function="gelu_new", bos_token_id=1, eos_token_id=2)
    # state-space, hybrid, linear attention, MoE
    a["mixtral"] = lambda: T.MixtralConfig(**dict(common, num_local_experts=4, num_experts_per_tok=2,
        sliding_window=None))
    a["mamba"] = lambda: T.MambaConfig(vocab_size=VOCAB, hidden_size=64, state_size=8, num_hidden_layers=2,
        conv_kernel=4, expand=2, time_step_rank=8, use_bias=False, use_conv_bias=True, bos_token_id=1,
        eos_token_id=2, pad_token_id=0, tie_word_embeddings=False)
    a["mamba2"] = lambda: T.Mamba2Config(vocab_size=VOCAB, hidden_size=64, state_size=16, num_hidden_layers=2,
        expand=2, head_dim=16, num_heads=8, n_groups=2, chunk_size=8, conv_kernel=4, bos_token_id=1,
        eos_token_id=2, pad_token_id=0, tie_word_embeddings=False)
    a["jamba"] = lambda: T.JambaConfig(**dict(common, num_hidden_layers=4, num_experts=4, num_experts_per_tok=2,
        expert_layer_period=2, expert_layer_offset=1, attn_layer_period=4, attn_layer_offset=2, mamba_d_state=8,
        mamba_d_conv=4, mamba_expand=2, mamba_dt_rank=8, use_mamba_kernels=False, pad_token_id=0))
    a["bamba"] = lambda: T.BambaConfig(**dict(common, num_hidden_layers=3, attn_layer_indices=[1], mamba_n_heads=8,
        mamba_d_head=16, mamba_n_groups=2, mamba_d_state=16, mamba_d_conv=4, mamba_expand=2,
        mamba_chunk_size=8, pad_token_id=0))
    a["lfm2"] = lambda: T.Lfm2Config(**dict(common, num_hidden_layers=4, conv_L_cache=3,
        layer_types=["conv", "full_attention", "conv", "full_attention"], block_auto_adjust_ff_dim=False,
        pad_token_id=0))
    a["minimax"] = lambda: T.MiniMaxConfig(**dict(common, head_dim=16, num_local_experts=4,
        num_experts_per_tok=2, layer_types=["linear_attention", "full_attention"], block_size=8, pad_token_id=0))
    return a


def perturb(model, gen):
    """Every parameter gets a scale that keeps activations O(1) and makes it matter.

    Tied models get smaller embeddings: with unit-variance rows, a token's own embedding in the
    residual stream dominates h·Eᵀ and greedy decoding repeats the last token forever.
    """
    tied = getattr(model.config, "tie_word_embeddings", False)
    embed_std = 0.3 if tied else 1.0
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                fan_in = p.shape[-1]
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(fan_in))
                if "embed" in name or "wte" in name or "wpe" in name or "embed_positions" in name:
                    p.copy_(embed_std * torch.randn(p.shape, generator=gen))
            elif name.endswith("A_log"):
                p.copy_(torch.log(torch.rand(p.shape, generator=gen) * 4 + 0.5))
            elif "norm" in name or "ln" in name or "layernorm" in name.lower():
                if name.endswith("bias"):
                    p.copy_(0.1 * torch.randn(p.shape, generator=gen))
                else:
                    p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
            else:  # biases, D, dt_bias, conv biases, ...
                p.copy_(0.2 * torch.randn(p.shape, generator=gen))


def make(name, factory, out_root):
    seed = sum(map(ord, name))
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    cfg = factory()
    cfg._attn_implementation = "eager"
    model = transformers.AutoModelForCausalLM.from_config(cfg, attn_implementation="eager",
                                                          dtype=torch.float32)
    perturb(model, gen)
    model.eval()
    d = os.path.join(out_root, name)
    os.makedirs(d, exist_ok=True)
    model.save_pretrained(d, safe_serialization=True)
    for extra in ("generation_config.json",):
        if os.path.exists(os.path.join(d, extra)):
            os.remove(os.path.join(d, extra))

    tensors, meta = {}, {"architecture": type(model).__name__, "transformers": transformers.__version__,
                          "torch": torch.__version__, "seed": seed, "prompts": [], "greedy": []}
    for i, length in enumerate(PROMPT_LENGTHS):
        ids = torch.randint(3, VOCAB, (1, length), generator=gen)
        with torch.no_grad():
            logits = model(input_ids=ids, use_cache=False).logits[0].float()
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=GREEDY_TOKENS,
                                 min_new_tokens=GREEDY_TOKENS, do_sample=False, use_cache=True,
                                 eos_token_id=None, pad_token_id=0)
        greedy = out[0, length:]
        tensors[f"prompt_{i}"] = ids[0].to(torch.int32).contiguous()
        tensors[f"logits_{i}"] = logits.contiguous()
        tensors[f"greedy_{i}"] = greedy.to(torch.int32).contiguous()
        meta["prompts"].append(ids[0].tolist())
        meta["greedy"].append(greedy.tolist())
    save_file(tensors, os.path.join(d, "expected.safetensors"))
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(meta, f, indent=1)
    size = sum(os.path.getsize(os.path.join(d, x)) for x in os.listdir(d))
    print(f"{name}: {meta['architecture']} ok, {size / 1e6:.2f} MB, greedy_0={meta['greedy'][0]}", flush=True)


def main():
    out_root = sys.argv[1]
    wanted = sys.argv[2:]
    all_archs = archs()
    failed = []
    for name, factory in all_archs.items():
        if wanted and name not in wanted:
            continue
        try:
            make(name, factory, out_root)
        except Exception:
            failed.append(name)
            print(f"{name}: FAILED", flush=True)
            traceback.print_exc()
    print("failed:", failed)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
