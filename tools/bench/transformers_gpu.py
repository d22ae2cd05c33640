#!/usr/bin/env python3
"""The Hugging Face transformers side of the GPU comparison (issue 7): on one checkpoint directory,
batch-1 greedy decode tokens/s with a static KV cache, without and with torch.compile, and batched
throughput of `generate` with a static cache (N requests x P prompt tokens -> O new tokens).

  python3 tools/bench/transformers_gpu.py MODEL_DIR [--prompt 128] [--decode 64]
          [--requests 64] [--out-tokens 128] [--json OUT.json] [--skip-compile]

Prompts are random token ids (seeded) so no tokenizer is involved; EOS is ignored so every run
generates exactly the asked-for tokens. Prints one JSON object (also written to --json).
"""
import argparse
import json
import time

import torch
import transformers


def timed_generate(model, ids, new_tokens, **kw):
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens,
                         min_new_tokens=new_tokens, do_sample=False, pad_token_id=0, **kw)
    torch.cuda.synchronize()
    return out, time.perf_counter() - t0


def latency(model, vocab, prompt, decode, compile_mode):
    """Batch 1: prefill time (1 new token) and decode tokens/s (the rest), best of 3 after warm-up."""
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(3, vocab, (1, prompt), generator=g).cuda()
    kw = dict(cache_implementation="static")
    if compile_mode:
        kw["compile_config"] = transformers.CompileConfig(fullgraph=True, mode="reduce-overhead")
    for _ in range(2):  # warm-up (compiles when asked)
        timed_generate(model, ids, decode, **kw)
    best_prefill, best_total = float("inf"), float("inf")
    for _ in range(3):
        _, t1 = timed_generate(model, ids, 1, **kw)
        _, tn = timed_generate(model, ids, decode, **kw)
        best_prefill, best_total = min(best_prefill, t1), min(best_total, tn)
    decode_s = max(best_total - best_prefill, 1e-9)
    return {"prefill_s": best_prefill, "prefill_tok_s": prompt / best_prefill,
            "decode_tok_s": (decode - 1) / decode_s, "time_per_output_token_ms": 1000 * decode_s / (decode - 1)}


def throughput(model, vocab, requests, prompt, out_tokens):
    g = torch.Generator().manual_seed(2)
    ids = torch.randint(3, vocab, (requests, prompt), generator=g).cuda()
    kw = dict(cache_implementation="static")
    timed_generate(model, ids[:2], 4, **kw)
    _, t = timed_generate(model, ids, out_tokens, **kw)
    return {"requests": requests, "prompt": prompt, "out_tokens": out_tokens, "seconds": t,
            "output_tok_s": requests * out_tokens / t}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--prompt", type=int, default=128)
    ap.add_argument("--decode", type=int, default=64)
    ap.add_argument("--requests", type=int, default=64)
    ap.add_argument("--out-tokens", type=int, default=128)
    ap.add_argument("--json")
    ap.add_argument("--skip-compile", action="store_true")
    a = ap.parse_args()
    model = transformers.AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.bfloat16).cuda().eval()
    model.generation_config.eos_token_id = None
    vocab = model.config.vocab_size
    res = {"device": torch.cuda.get_device_name(), "torch": torch.__version__,
           "transformers": transformers.__version__, "model": a.model,
           "weight_bytes": sum(p.numel() * p.element_size() for p in model.parameters())}
    with torch.no_grad():
        res["latency_static"] = latency(model, vocab, a.prompt, a.decode, False)
        if not a.skip_compile:
            res["latency_static_compiled"] = latency(model, vocab, a.prompt, a.decode, True)
        res["throughput_static"] = throughput(model, vocab, a.requests, a.prompt, a.out_tokens)
    print(json.dumps(res, indent=1))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
