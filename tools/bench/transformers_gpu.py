#!/usr/bin/env python3
"""The Hugging Face transformers side of the GPU comparison (issue 7): on one checkpoint directory,
batch-1 greedy decode tokens/s with a static KV cache, without torch.compile and with transformers'
default automatic compile (a static cache on CUDA compiles the decoding forward unless
disable_compile is set), and batched throughput of `generate` with a static cache (N requests x P
prompt tokens -> O new tokens each), without compile.

  python3 tools/bench/transformers_gpu.py MODEL_DIR [--prompt 128] [--decode 64]
          [--requests 64] [--out-tokens 128] [--json OUT.json] [--skip-compile]

Prompts are random token ids (seeded) so no tokenizer is involved; EOS is ignored so every run
generates exactly the asked-for tokens (checked). Prints one JSON object (also written to --json).
Latency: prefill = a generate of 1 new token; decode tokens/s = (decode - 1) tokens over the
difference between a generate of `decode` tokens and that, best of 3 after 2 warm-up runs (the
warm-up compiles when compile is on).
"""
import argparse
import json
import time

import torch
import transformers


def timed_generate(model, ids, new_tokens, compile_on):
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens,
                         min_new_tokens=new_tokens, do_sample=False, pad_token_id=0,
                         cache_implementation="static", disable_compile=not compile_on)
    torch.cuda.synchronize()
    elapsed = time.perf_counter() - t0
    if out.shape[1] != ids.shape[1] + new_tokens:
        raise SystemExit(f"generate returned {out.shape[1] - ids.shape[1]} new tokens, asked for {new_tokens}")
    return elapsed


def latency(model, vocab, prompt, decode, compile_on):
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(3, vocab, (1, prompt), generator=g).cuda()
    t0 = time.perf_counter()
    for _ in range(2):  # warm-up (compiles when asked)
        timed_generate(model, ids, decode, compile_on)
    warmup_s = time.perf_counter() - t0
    best_prefill, best_total = float("inf"), float("inf")
    for _ in range(3):
        best_prefill = min(best_prefill, timed_generate(model, ids, 1, compile_on))
        best_total = min(best_total, timed_generate(model, ids, decode, compile_on))
    decode_s = max(best_total - best_prefill, 1e-9)
    return {"compile": compile_on, "warmup_s": warmup_s, "prefill_s": best_prefill,
            "prefill_tok_s": prompt / best_prefill, "decode_tok_s": (decode - 1) / decode_s,
            "time_per_output_token_ms": 1000 * decode_s / (decode - 1)}


def throughput(model, vocab, requests, prompt, out_tokens):
    g = torch.Generator().manual_seed(2)
    ids = torch.randint(3, vocab, (requests, prompt), generator=g).cuda()
    warm = timed_generate(model, ids, out_tokens, False)  # same shapes as the timed run
    t = timed_generate(model, ids, out_tokens, False)
    return {"requests": requests, "prompt": prompt, "out_tokens": out_tokens, "compile": False, "warmup_s": warm,
            "seconds": t, "output_tok_s": requests * out_tokens / t,
            "total_tok_s": requests * (prompt + out_tokens) / t}


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
    model.generation_config.eos_token_id = None  # never stop early
    vocab = model.config.vocab_size
    res = {"device": torch.cuda.get_device_name(), "torch": torch.__version__,
           "transformers": transformers.__version__, "model": a.model,
           "attn_implementation": model.config._attn_implementation,
           "weight_bytes": sum(p.numel() * p.element_size() for p in model.parameters())}

    def emit():
        print(json.dumps(res, indent=1), flush=True)
        if a.json:
            with open(a.json, "w") as f:
                json.dump(res, f, indent=1)

    with torch.no_grad():
        res["latency_static"] = latency(model, vocab, a.prompt, a.decode, False)
        emit()
        res["throughput_static"] = throughput(model, vocab, a.requests, a.prompt, a.out_tokens)
        emit()
        if not a.skip_compile:
            res["latency_static_compiled"] = latency(model, vocab, a.prompt, a.decode, True)
    res["max_memory_allocated"] = torch.cuda.max_memory_allocated()
    emit()


if __name__ == "__main__":
    main()
