#!/usr/bin/env python3
"""Writes tokenizer-parity fixtures with the Hugging Face `tokenizers` library as the oracle.

Trains small tokenizers of the two families real checkpoints use, on a fixed public-domain-style
corpus written below, and records their encodings of varied texts:

  bytelevel/   GPT-2 / Llama-3 / Qwen style: byte-level BPE, the Llama-3 Split regex pre-tokenizer
               (wrapped in a Sequence with ByteLevel), ByteLevel decoder, BOS template, special tokens
  metaspace/   Llama-2 / Mistral style: NFC? no normalizer, Metaspace pre-tokenizer (prepend_scheme
               first), BPE with byte_fallback, ByteFallback + Metaspace decoders, BOS template

Each directory holds tokenizer.json, tokenizer_config.json and cases.jsonl: one
{"text": ..., "ids": [...], "ids_no_special": [...], "decoded": ...} per line.

Run where `tokenizers` is installed (the GPU machine has it):
  python3 tools/oracle/make_tokenizer_fixtures.py OUT_DIR
"""
import json
import os
import sys

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

CORPUS = [
    "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness.",
    "Call me Ishmael. Some years ago - never mind how long precisely - having little or no money in my purse.",
    "The quick brown fox jumps over the lazy dog. 1234567890 times!",
    "def main(args):\n    for i in range(10):\n        print(f\"{i}: {args[i]}\")\n    return 0\n",
    "Ünïcödé tëxt, naïve café, Straße, ﬁne — “quotes” and ‘apostrophes’ … ellipsis",
    "日本語のテキスト、中文文本，한국어 텍스트 ñandú 🙂🚀 emoji",
    "https://example.com/path?query=1&x=y#frag  email@example.org",
    "    leading spaces, trailing spaces    \t tabs\t\tand\n\nnewlines\r\n",
    "Once upon a time there was a little girl who lived in a village near the forest.",
    "She said: 'I'll go, you'd come, we're here, they've left, it's done.'",
] * 20

TEXTS = [
    "",
    " ",
    "Hello world",
    " Hello  world ",
    "Once upon a time",
    "   multiple   spaces   and\ttabs\t\t",
    "new\nlines\n\n\nand\r\ncarriage returns",
    "Ünïcödé naïve café Straße ﬁne",
    "日本語 中文 한국어",
    "emoji 🙂🚀👍🏽 and flags 🇫🇷",
    "code: for (int i = 0; i < n; i++) { x += a[i]; }",
    "URL https://example.com/a/b?c=d&e=f#g",
    "numbers 3.14159 1,000,000 2026-11-26",
    "I'll you're he's we've they'd it's",
    "<s>special</s> tokens <|eot|> inside text",
    "unseen words: xylophone quixotic zephyr",
    "a" * 50,
    "The quick brown fox jumps over the lazy dog.",
    "mixed CASE Words AND ALLCAPS",
    "ends with space ",
]

LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIAL = ["<s>", "</s>", "<unk>", "<|eot|>"]


def bytelevel():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
                                                       special_tokens=[("<s>", tok.token_to_id("<s>"))])
    return tok


def metaspace():
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    byte_tokens = [f"<0x{b:02X}>" for b in range(256)]
    trainer = trainers.BpeTrainer(vocab_size=900, special_tokens=SPECIAL + byte_tokens, show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
                                                       special_tokens=[("<s>", tok.token_to_id("<s>"))])
    return tok


def write(name, tok, out_root):
    d = os.path.join(out_root, name)
    os.makedirs(d, exist_ok=True)
    tok.save(os.path.join(d, "tokenizer.json"))
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": True,
                   "model_max_length": 2048}, f, indent=1)
    with open(os.path.join(d, "cases.jsonl"), "w") as f:
        for text in TEXTS:
            enc = tok.encode(text, add_special_tokens=True)
            plain = tok.encode(text, add_special_tokens=False)
            f.write(json.dumps({"text": text, "ids": enc.ids, "ids_no_special": plain.ids,
                                "decoded": tok.decode(plain.ids, skip_special_tokens=False)},
                               ensure_ascii=False) + "\n")
    print(name, "vocab", tok.get_vocab_size(), "cases", len(TEXTS))


def main():
    out = sys.argv[1]
    write("bytelevel", bytelevel(), out)
    write("metaspace", metaspace(), out)


if __name__ == "__main__":
    main()
