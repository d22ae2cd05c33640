#!/usr/bin/env python3
"""Writes a random bf16 Llama checkpoint with Hugging Face transformers (so both sides of a benchmark
load the very same files): LlamaConfig -> LlamaForCausalLM(config) (transformers' own init, normal
with std initializer_range, built on the GPU when there is one) -> save_pretrained in bf16.

  python3 tools/bench/make_random_checkpoint.py OUT_DIR [--preset llama-3.2-1b] [--vocab 32000]
          [--max-position-embeddings 4096] [--seed 0]

Presets (Llama-3.2 shapes, tied embeddings as Llama-3.2; the vocab is smaller so no tokenizer is
needed, prompts are token ids):
  llama-3.2-1b  hidden 2048, 16 layers, 32 heads, 8 KV heads (head 64), intermediate 8192
  llama-3.2-3b  hidden 3072, 28 layers, 24 heads, 8 KV heads (head 128), intermediate 8192
Prints the directory, the parameter count and the weight bytes.
"""
import argparse
import json
import os

import torch
import transformers

PRESETS = {
    "llama-3.2-1b": dict(hidden_size=2048, num_hidden_layers=16, num_attention_heads=32, num_key_value_heads=8,
                         intermediate_size=8192),
    "llama-3.2-3b": dict(hidden_size=3072, num_hidden_layers=28, num_attention_heads=24, num_key_value_heads=8,
                         intermediate_size=8192),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--preset", default="llama-3.2-1b", choices=sorted(PRESETS))
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--max-position-embeddings", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    config = transformers.LlamaConfig(vocab_size=a.vocab, max_position_embeddings=a.max_position_embeddings,
                                      rms_norm_eps=1e-5, tie_word_embeddings=True, bos_token_id=1, eos_token_id=2,
                                      pad_token_id=0, **PRESETS[a.preset])
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with torch.device(device):
        model = transformers.LlamaForCausalLM(config)
    model = model.to(torch.bfloat16)
    model.save_pretrained(a.out)
    params = sum(p.numel() for p in model.parameters())  # a tied matrix counts once
    info = {"dir": a.out, "preset": a.preset, "vocab": a.vocab, "parameters": params,
            "weight_bytes": sum(p.numel() * p.element_size() for p in model.parameters()),
            "files": sorted(os.listdir(a.out))}
    print(json.dumps(info))


if __name__ == "__main__":
    main()
