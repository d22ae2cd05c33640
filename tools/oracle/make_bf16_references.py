#!/usr/bin/env python3
"""Adds transformers' bf16 greedy run to existing model-parity fixtures (vLLM's bf16 comparison).

vLLM checks a bf16 model against Hugging Face transformers run in the same dtype: greedy
continuations equal, or at the first difference each side's token is among the other side's
top-5 (tests/models/utils.py, check_logprobs_close). For every fixture directory given (made by
make_fixtures.py: config.json, model.safetensors, expected.safetensors with prompt_<i>), this loads
the checkpoint in bfloat16 with eager attention on the CPU, decodes greedily from each prompt with
the KV cache and writes

  expected-bf16.safetensors   greedy_<i> (I32 [N]: generated ids), top5_<i> (I32 [N, 5]: the ids of
                              the five largest logits at each generated position, largest first)

Run where torch + transformers exist (the GPU machine has them):
  python3 tools/oracle/make_bf16_references.py FIXTURE_DIR [FIXTURE_DIR ...]
"""
import json
import os
import sys

import torch
import transformers
from safetensors.torch import load_file, save_file

GREEDY_TOKENS = 16


def make(d):
    expected = load_file(os.path.join(d, "expected.safetensors"))
    model = transformers.AutoModelForCausalLM.from_pretrained(d, dtype=torch.bfloat16, attn_implementation="eager")
    model.eval()
    tensors, meta = {}, {"transformers": transformers.__version__, "torch": torch.__version__, "dtype": "bfloat16",
                         "device": "cpu", "greedy": []}
    i = 0
    while f"prompt_{i}" in expected:
        ids = expected[f"prompt_{i}"].to(torch.long).unsqueeze(0)
        n = expected[f"greedy_{i}"].numel() if f"greedy_{i}" in expected else GREEDY_TOKENS
        with torch.no_grad():
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=n,
                                 min_new_tokens=n, do_sample=False, use_cache=True, eos_token_id=None,
                                 pad_token_id=0, output_logits=True, return_dict_in_generate=True)
        greedy = out.sequences[0, ids.shape[1]:]
        top5 = torch.stack([step[0].float().topk(5).indices for step in out.logits])
        tensors[f"greedy_{i}"] = greedy.to(torch.int32).contiguous()
        tensors[f"top5_{i}"] = top5.to(torch.int32).contiguous()
        meta["greedy"].append(greedy.tolist())
        i += 1
    save_file(tensors, os.path.join(d, "expected-bf16.safetensors"))
    with open(os.path.join(d, "expected-bf16.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"{os.path.basename(d)}: {i} prompts, greedy_0={meta['greedy'][0]}", flush=True)


def main():
    failed = []
    for d in sys.argv[1:]:
        try:
            make(d.rstrip("/"))
        except Exception as e:  # report every fixture, fail at the end
            failed.append(d)
            print(f"{d}: FAILED {type(e).__name__}: {e}", flush=True)
    print("failed:", failed)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
