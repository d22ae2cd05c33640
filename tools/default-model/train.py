#!/usr/bin/env python3
"""Trains jvllm's bundled default model: a small Llama with its own byte-level BPE tokenizer,
on the King James Bible text (public domain) from Debian's bible-kjv-text package.

  python3 tools/default-model/train.py TEXT_FILE OUT_DIR [--steps N]

TEXT_FILE comes from tools/default-model/prepare_text.sh. Needs torch, transformers and
tokenizers (the GPU machine has them; a CUDA GPU makes it take about a minute). Writes OUT_DIR/:

  config.json, generation_config.json, model.safetensors (bf16)   save_pretrained
  tokenizer.json, tokenizer_config.json                           the trained tokenizer
  expected.safetensors, expected.json                             parity oracle: for a few
      prompts, prompt_<i> (I32), logits_<i> (F32 [L, vocab]) and greedy_<i> (I32, the generated
      ids) computed by transformers in f32 from the saved bf16 weights
  train-log.txt

Seeded; the same versions on the same kind of GPU reproduce the same weights up to kernel
nondeterminism.
"""
import argparse
import json
import math
import os
import random
import time

import torch
import transformers
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

VOCAB = 4096
EOS = "<|endoftext|>"
SEQ = 256
PROMPTS = ["Once upon a time", "In the beginning", "And the LORD said unto Moses,",
           "Blessed are the"]
GREEDY_TOKENS = 40


def train_tokenizer(text_file):
    tok = Tokenizer(models.BPE())
    # GPT-2 style: byte-level with the GPT-2 split regex, no prefix space.
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=[EOS], min_frequency=2,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train([text_file], trainer)
    return tok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("text")
    ap.add_argument("out")
    ap.add_argument("--steps", type=int, default=4000)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    log = open(os.path.join(args.out, "train-log.txt"), "w")

    def say(*a):
        s = " ".join(str(x) for x in a)
        print(s, flush=True)
        log.write(s + "\n")

    random.seed(1611)
    torch.manual_seed(1611)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    say("torch", torch.__version__, "transformers", transformers.__version__, "device", dev,
        torch.cuda.get_device_name() if dev == "cuda" else "")

    tok = train_tokenizer(args.text)
    eos_id = tok.token_to_id(EOS)
    text = open(args.text, encoding="utf-8").read()
    books = text.split("\n\n\n")
    ids = []
    for b in books:  # books are documents: one end-of-text token after each
        ids.extend(tok.encode(b).ids)
        ids.append(eos_id)
    data = torch.tensor(ids, dtype=torch.long)
    n_val = len(data) // 50
    train, val = data[:-n_val], data[-n_val:]
    say("tokens", len(data), "chars/token", round(len(text) / len(data), 2))

    cfg = transformers.LlamaConfig(
        vocab_size=VOCAB, hidden_size=256, intermediate_size=640, num_hidden_layers=6,
        num_attention_heads=8, num_key_value_heads=4, max_position_embeddings=1024, rms_norm_eps=1e-5,
        rope_theta=10000.0, tie_word_embeddings=True, bos_token_id=eos_id, eos_token_id=eos_id,
        pad_token_id=eos_id)
    model = transformers.LlamaForCausalLM(cfg).to(dev)
    say("parameters", sum(p.numel() for p in model.parameters()))

    batch, lr, warm = 64, 3e-3, 200
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.1)

    def lr_at(step):
        if step < warm:
            return lr * (step + 1) / warm
        p = (step - warm) / max(1, args.steps - warm)
        return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))

    def batch_of(src, n):
        starts = torch.randint(0, len(src) - SEQ - 1, (n,))
        x = torch.stack([src[s:s + SEQ] for s in starts])
        return x.to(dev)

    @torch.no_grad()
    def val_loss():
        model.eval()
        g = torch.Generator().manual_seed(7)
        starts = torch.randint(0, len(val) - SEQ - 1, (32,), generator=g)
        x = torch.stack([val[s:s + SEQ] for s in starts]).to(dev)
        with torch.autocast(dev, dtype=torch.bfloat16, enabled=dev == "cuda"):
            out = model(input_ids=x, labels=x)
        model.train()
        return out.loss.item()

    t0 = time.time()
    model.train()
    for step in range(args.steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        x = batch_of(train, batch)
        with torch.autocast(dev, dtype=torch.bfloat16, enabled=dev == "cuda"):
            loss = model(input_ids=x, labels=x).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 250 == 0 or step == args.steps - 1:
            say(f"step {step} loss {loss.item():.3f} val {val_loss():.3f} {time.time() - t0:.0f}s")

    # Save: bf16 weights (half the size), the tokenizer with its config.
    model = model.to(torch.bfloat16)
    model.generation_config.do_sample = True
    model.generation_config.temperature = 0.8
    model.generation_config.top_p = 0.95
    model.save_pretrained(args.out, safe_serialization=True)
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=EOS, eos_token=EOS,
                                                unk_token=None, pad_token=EOS)
    fast.model_max_length = 1024
    fast.save_pretrained(args.out)

    # Oracle: f32 compute over the saved bf16 weights, greedy with the KV cache.
    ref = transformers.LlamaForCausalLM.from_pretrained(args.out, dtype=torch.float32).to(dev).eval()
    tensors, info = {}, {"transformers": transformers.__version__, "torch": torch.__version__,
                         "prompts": [], "greedy": [], "greedy_text": []}
    with torch.no_grad():
        for i, p in enumerate(PROMPTS):
            pid = tok.encode(p).ids
            x = torch.tensor([pid], device=dev)
            logits = ref(input_ids=x).logits[0].float().cpu()
            seq = list(pid)  # plain greedy: argmax of a full forward per step (no EOS stop)
            for _ in range(GREEDY_TOKENS):
                nxt = ref(input_ids=torch.tensor([seq], device=dev)).logits[0, -1].argmax().item()
                seq.append(nxt)
            gen = torch.tensor(seq[len(pid):], dtype=torch.int32)
            tensors[f"prompt_{i}"] = torch.tensor(pid, dtype=torch.int32)
            tensors[f"logits_{i}"] = logits.contiguous()
            tensors[f"greedy_{i}"] = gen.contiguous()
            text_out = tok.decode(gen.tolist())
            info["prompts"].append(p)
            info["greedy"].append(gen.tolist())
            info["greedy_text"].append(text_out)
            say("greedy:", repr(p + text_out))
        for i in range(3):
            s = ref.generate(torch.tensor([tok.encode(PROMPTS[0]).ids], device=dev), max_new_tokens=60,
                             do_sample=True, temperature=0.8, top_p=0.95, pad_token_id=eos_id)
            say("sampled:", repr(tok.decode(s[0].tolist())))
    save_file(tensors, os.path.join(args.out, "expected.safetensors"))
    with open(os.path.join(args.out, "expected.json"), "w") as f:
        json.dump(info, f, indent=1)
    say("done", f"{time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
