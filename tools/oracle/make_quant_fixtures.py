#!/usr/bin/env python3
"""Writes quantized-checkpoint parity fixtures (models/src/test/resources/fixtures/quant-*).

Every fixture is a tiny random Llama (the same perturbation as make_fixtures.py) whose linear
layers are quantized and stored exactly in a published checkpoint layout:

  quant-fp8-block       transformers' FineGrainedFP8 (128x128 block scales, weight_scale_inv),
                        written by from_pretrained(quantization_config=FineGrainedFP8Config())
                        + save_pretrained on a GPU (the quantizer refuses to run without one);
                        its reference quantizes each Linear's input per token in groups of
                        128 columns (FineGrainedFP8's act_quant, vLLM's per_token_group_quant_fp8)
  quant-gptq            GPTQ 4-bit v1 (qweight packed along K, qzeros-1 packed along N, f16
                        scales), sym, group 32, `dynamic` overrides: layer 1's q/k/v use group 64
                        ("+:"), layer 0 down_proj stays full precision ("-:")
  quant-gptq-actorder   GPTQ 4-bit v1, desc_act (g_idx permutation), asymmetric, group 32; the
                        config is only in quantize_config.json, as AutoGPTQ writes it
  quant-awq             AWQ GEMM 4-bit (qweight/qzeros packed along N in AWQ's nibble order
                        [0,2,4,6,1,3,5,7]), zero points, group 32, attention biases
  quant-ct-w4a16        compressed-tensors pack-quantized int4, symmetric, group 32, bf16 scales
  quant-ct-w4a16-asym   compressed-tensors pack-quantized int4 with weight_zero_point (packed
                        along N) and actorder "group" (weight_g_idx), group 32
  quant-ct-fp8          compressed-tensors float-quantized fp8 per-channel weights, dynamic
                        per-token fp8 activations
  quant-ct-w8a16        compressed-tensors pack-quantized int8 (4 per int32), per-channel
  quant-fp8-mixed       quant_method fp8, per-tensor weight scales per shard, static input
                        scales (the fused q|k|v and gate|up use the max, as vLLM does),
                        ignored_layers = layer 1's MLP; lm_head stays full precision

The quantization itself is round-to-nearest (the packing, not the calibration, is what a loader
must get right). Reference outputs come from the DEQUANTIZED weights: the same tiny model in f32
eager transformers with every quantized Linear's weight replaced by its exact dequantized f32
value (scales rounded to their stored dtype first) and, where the format quantizes activations,
a pre-hook that quantizes the Linear's input to e4m3 and back exactly as jvllm's Linear op
defines it (static: one scale; dynamic: per token, amax/448; block fp8: per token and group of
block_k columns, max(amax, 1e-10)/448).

Each fixture directory: config.json (+ quantize_config.json), model.safetensors,
expected.safetensors (prompt_i I32 [L], logits_i F32 [L, vocab], greedy_i I32 [16]), expected.json.

Run where torch + transformers exist; quant-fp8-block needs a CUDA GPU (without one it is
skipped unless --emulate-fp8 asks for transformers' Fp8Quantize op applied directly, which is
for testing this script only):
  python3 tools/oracle/make_quant_fixtures.py OUT_DIR [NAME ...] [--emulate-fp8] [--reuse-fp8-checkpoint]
--reuse-fp8-checkpoint recomputes quant-fp8-block's reference from the checkpoint already in
OUT_DIR (written on a GPU before) instead of quantizing again.
"""
import json
import math
import os
import re
import sys
import tempfile
import traceback

import torch
import transformers
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import perturb  # noqa: E402  (same perturbation as the dense fixtures)

GREEDY_TOKENS = 16
PROMPT_LENGTHS = (5, 17, 41)
E4M3_MAX = 448.0
AWQ_ORDER = [0, 2, 4, 6, 1, 3, 5, 7]  # nibble i of an AWQ word holds column AWQ_ORDER[i]
LINEARS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
FUSED = {"q_proj": "qkv", "k_proj": "qkv", "v_proj": "qkv", "gate_proj": "gate_up", "up_proj": "gate_up"}


def small_config(**over):
    kw = dict(vocab_size=384, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, head_dim=16, max_position_embeddings=256, rms_norm_eps=1e-5,
              rope_theta=10000.0, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)
    kw.update(over)
    return transformers.LlamaConfig(**kw)


def fp8_block_config():
    # every q/k/v/o/gate/up/down dimension, and its half at tp=2, is a multiple of 128
    return small_config(vocab_size=256, hidden_size=128, intermediate_size=256, num_attention_heads=2,
                        num_key_value_heads=2, head_dim=128)


def build_model(cfg, seed):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    cfg._attn_implementation = "eager"
    model = transformers.LlamaForCausalLM(cfg).to(torch.float32)
    perturb(model, gen)
    model.eval()
    return model, gen


def linear_names(model):
    """Checkpoint prefixes of every decoder Linear, e.g. model.layers.0.self_attn.q_proj."""
    return [n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear) and n.split(".")[-1] in LINEARS]


def to_i32(words):
    """int64 words holding 32-bit patterns -> int32 with the same bits."""
    words = words & 0xFFFFFFFF
    return torch.where(words >= 2**31, words - 2**32, words).to(torch.int32)


def pack_along_last(q, bits):
    """q: int64 [R, C] unsigned values -> int32 [R, ceil(C*bits/32)], value j at bits·(j % per) of word j/per."""
    per = 32 // bits
    r, c = q.shape
    pad = (-c) % per
    if pad:
        q = torch.nn.functional.pad(q, (0, pad))
    q = q.reshape(r, -1, per)
    shifts = torch.arange(per, dtype=torch.int64) * bits
    return to_i32((q << shifts).sum(-1))


def groups_of(k, group_size, act_order, gen):
    """g_idx [K]: sequential groups, or GPTQ act-order: columns visited in a random order, groups by rank."""
    if not act_order:
        return torch.arange(k) // group_size
    perm = torch.randperm(k, generator=gen)
    g_idx = torch.empty(k, dtype=torch.int64)
    g_idx[perm] = torch.arange(k) // group_size
    return g_idx


def int_quantize(w, g_idx, num_groups, bits, sym, scale_dtype, zero_min=0):
    """Round-to-nearest group quantization of w [N, K].

    Returns q (int64 [N, K], unsigned 0..2^bits-1), zero (int64 [N, G], unsigned), scale ([N, G] in
    scale_dtype) with W ≈ (q - zero) · scale. Symmetric: zero = 2^(bits-1). zero_min keeps GPTQ v1's
    stored zero - 1 non-negative."""
    n, k = w.shape
    maxq = 2**bits - 1
    scale = torch.empty(n, num_groups)
    zero = torch.empty(n, num_groups, dtype=torch.int64)
    for g in range(num_groups):
        cols = w[:, g_idx == g]
        if sym:
            amax = cols.abs().amax(1).clamp(min=1e-8)
            scale[:, g] = 2 * amax / maxq
            zero[:, g] = 2 ** (bits - 1)
        else:
            lo = cols.amin(1).clamp(max=0)
            hi = cols.amax(1).clamp(min=0)
            scale[:, g] = ((hi - lo) / maxq).clamp(min=1e-8)
            zero[:, g] = torch.round(-lo / scale[:, g]).to(torch.int64).clamp(zero_min, maxq)
    scale = scale.to(scale_dtype)
    s = scale.float()[:, g_idx]
    q = torch.clamp(torch.round(w / s) + zero[:, g_idx], 0, maxq).to(torch.int64)
    return q, zero, scale


def int_dequantize(q, zero, scale, g_idx):
    return (q - zero[:, g_idx]).float() * scale.float()[:, g_idx]


def e4m3(x):
    return x.clamp(-E4M3_MAX, E4M3_MAX).to(torch.float8_e4m3fn)


def fake_quant_fp8(x, scale):
    """jvllm's Linear activation quantization: f32(e4m3(x / a)) · a, a row of zeros stays zero."""
    safe = torch.where(scale == 0, torch.ones_like(scale), scale)
    out = e4m3(x / safe).float() * safe
    return torch.where(scale == 0, torch.zeros_like(out), out)


# ---------------------------------------------------------------------------------------------
# One function per format: (model, gen) -> (tensors, dequantized weights, activation hooks, quant config)


def gptq(model, gen, act_order, sym, group_size=32, dynamic=None):
    tensors, deq = {}, {}
    dynamic = dynamic or {}
    for name in linear_names(model):
        gs, skip = group_size, False
        for pattern, over in dynamic.items():  # first match wins, as vLLM's get_dynamic_override
            if pattern.startswith("-:") and re.match(pattern[2:], name):
                skip = True
                break
            if not pattern.startswith("-:") and re.match(pattern.removeprefix("+:"), name):
                gs = over.get("group_size", gs)
                break
        w = model.get_submodule(name).weight.detach()
        if skip:
            continue
        n, k = w.shape
        g_idx = groups_of(k, gs, act_order, gen)
        q, zero, scale = int_quantize(w, g_idx, k // gs, 4, sym, torch.float16, zero_min=1)
        deq[name] = int_dequantize(q, zero, scale, g_idx)
        tensors[name + ".qweight"] = pack_along_last(q, 4).t().contiguous()  # [K/8, N]: packed along K
        tensors[name + ".qzeros"] = pack_along_last((zero - 1).t().contiguous(), 4)  # v1 stores zero - 1
        tensors[name + ".scales"] = scale.t().contiguous()
        tensors[name + ".g_idx"] = g_idx.to(torch.int32)
    cfg = {"quant_method": "gptq", "bits": 4, "group_size": group_size, "desc_act": act_order, "sym": sym,
           "checkpoint_format": "gptq", "true_sequential": True, "damp_percent": 0.01, "static_groups": False,
           "lm_head": False}
    if dynamic:
        cfg["dynamic"] = dynamic
    return tensors, deq, {}, cfg


def awq(model, gen, group_size=32):
    tensors, deq = {}, {}
    order = torch.tensor(AWQ_ORDER)
    for name in linear_names(model):
        w = model.get_submodule(name).weight.detach()
        n, k = w.shape
        g_idx = groups_of(k, group_size, False, gen)
        q, zero, scale = int_quantize(w, g_idx, k // group_size, 4, False, torch.float16)
        deq[name] = int_dequantize(q, zero, scale, g_idx)

        def pack_n(v):  # v: [rows, N] -> [rows, N/8], word nibble i = column 8·w + AWQ_ORDER[i]
            rows = v.shape[0]
            return pack_along_last(v.reshape(rows, n // 8, 8)[:, :, order].reshape(rows, n), 4)
        tensors[name + ".qweight"] = pack_n(q.t().contiguous())
        tensors[name + ".qzeros"] = pack_n(zero.t().contiguous())
        tensors[name + ".scales"] = scale.t().contiguous()
    cfg = {"quant_method": "awq", "bits": 4, "group_size": group_size, "zero_point": True, "version": "gemm",
           "modules_to_not_convert": None}
    return tensors, deq, {}, cfg


def ct_group(num_bits, typ, strategy, symmetric, group_size=None, actorder=None):
    return {"num_bits": num_bits, "type": typ, "symmetric": symmetric, "strategy": strategy,
            "group_size": group_size, "dynamic": False, "actorder": actorder, "observer": "minmax",
            "block_structure": None, "observer_kwargs": {}}


def ct_config(weights, input_activations, fmt):
    return {"quant_method": "compressed-tensors", "format": fmt, "quantization_status": "compressed",
            "version": "0.12.2", "global_compression_ratio": None, "kv_cache_scheme": None,
            "ignore": ["lm_head"], "sparsity_config": {}, "transform_config": {},
            "config_groups": {"group_0": {"targets": ["Linear"], "weights": weights,
                                          "input_activations": input_activations, "output_activations": None,
                                          "format": fmt}}}


def ct_w4a16(model, gen, symmetric, actorder, group_size=32):
    tensors, deq = {}, {}
    for name in linear_names(model):
        w = model.get_submodule(name).weight.detach()
        n, k = w.shape
        g_idx = groups_of(k, group_size, actorder, gen)
        scale_dtype = torch.bfloat16 if symmetric else torch.float16
        q, zero, scale = int_quantize(w, g_idx, k // group_size, 4, symmetric, scale_dtype)
        deq[name] = int_dequantize(q, zero, scale, g_idx)
        # pack_to_int32 stores signed values + 8; q is already unsigned (= signed + 8)
        tensors[name + ".weight_packed"] = pack_along_last(q, 4)
        tensors[name + ".weight_scale"] = scale
        tensors[name + ".weight_shape"] = torch.tensor([n, k], dtype=torch.int64)
        if not symmetric:  # signed zero point + 8, packed along the output dim
            tensors[name + ".weight_zero_point"] = pack_along_last(zero.t().contiguous(), 4).t().contiguous()
        if actorder:
            tensors[name + ".weight_g_idx"] = g_idx.to(torch.int32)
    weights = ct_group(4, "int", "group", symmetric, group_size, "group" if actorder else None)
    return tensors, deq, {}, ct_config(weights, None, "pack-quantized")


def ct_w8a16(model, gen):
    tensors, deq = {}, {}
    for name in linear_names(model):
        w = model.get_submodule(name).weight.detach()
        n, k = w.shape
        q, zero, scale = int_quantize(w, torch.zeros(k, dtype=torch.int64), 1, 8, True, torch.float16)
        deq[name] = int_dequantize(q, zero, scale, torch.zeros(k, dtype=torch.int64))
        tensors[name + ".weight_packed"] = pack_along_last(q, 8)  # signed + 128, 4 per word
        tensors[name + ".weight_scale"] = scale
        tensors[name + ".weight_shape"] = torch.tensor([n, k], dtype=torch.int64)
    weights = ct_group(8, "int", "channel", True)
    return tensors, deq, {}, ct_config(weights, None, "pack-quantized")


def per_token_hook(module, args):
    x = args[0]
    scale = x.abs().amax(-1, keepdim=True) / E4M3_MAX
    return (fake_quant_fp8(x, scale),) + tuple(args[1:])


GROUP_EPS = 1e-10  # vLLM's per_token_group_quant_fp8 eps: a group's amax is at least this


def per_token_group_hook(group):
    """Block fp8 activations: each token's K columns in groups of `group`, each group with its own
    scale max(amax, eps)/448, as transformers' FineGrainedFP8 act_quant (which has no eps: a zero
    group gives NaN there) and vLLM's per_token_group_quant_fp8 compute it."""
    def hook(module, args):
        x = args[0]
        if x.shape[-1] % group:
            raise RuntimeError(f"K={x.shape[-1]} is not a multiple of the group {group} (act_quant asserts it)")
        g = x.reshape(*x.shape[:-1], x.shape[-1] // group, group)
        scale = g.abs().amax(-1, keepdim=True).clamp(min=GROUP_EPS) / E4M3_MAX
        return (fake_quant_fp8(g, scale).reshape(x.shape),) + tuple(args[1:])
    return hook


def ct_fp8(model, gen):
    tensors, deq, hooks = {}, {}, {}
    for name in linear_names(model):
        w = model.get_submodule(name).weight.detach()
        scale = (w.abs().amax(1, keepdim=True) / E4M3_MAX).to(torch.bfloat16)  # [N, 1], stored bf16
        q = e4m3(w / scale.float())
        deq[name] = q.float() * scale.float()
        tensors[name + ".weight"] = q
        tensors[name + ".weight_scale"] = scale
        hooks[name] = per_token_hook
    weights = ct_group(8, "float", "channel", True)
    acts = dict(ct_group(8, "float", "token", True), dynamic=True, observer=None)
    return tensors, deq, hooks, ct_config(weights, acts, "float-quantized")


def fp8_mixed(model, gen):
    """quant_method fp8 (AutoFP8 / vLLM layout): scalar weight_scale and input_scale per module."""
    ignored = [f"model.layers.1.mlp.{p}" for p in ("gate_proj", "up_proj", "down_proj")]
    # static input scales from a calibration prompt: amax of each Linear's input / 448, jittered
    # per shard so that the fused layers' max rule matters
    amax = {}
    handles = [model.get_submodule(n).register_forward_pre_hook(
        lambda m, a, n=n: amax.__setitem__(n, max(amax.get(n, 0.0), a[0].abs().max().item())))
        for n in linear_names(model)]
    with torch.no_grad():
        model(input_ids=torch.randint(3, model.config.vocab_size, (1, 24), generator=gen))
    for h in handles:
        h.remove()
    jitter = {"q_proj": 1.0, "k_proj": 1.15, "v_proj": 0.9, "gate_proj": 0.95, "up_proj": 1.1}
    tensors, deq, input_scales = {}, {}, {}
    for name in linear_names(model):
        if name in ignored:
            continue
        w = model.get_submodule(name).weight.detach()
        scale = (w.abs().max() / E4M3_MAX).to(torch.float32)
        q = e4m3(w / scale)
        deq[name] = q.float() * scale
        tensors[name + ".weight"] = q
        tensors[name + ".weight_scale"] = scale.reshape(())
        s = torch.tensor(amax[name] / E4M3_MAX * jitter.get(name.split(".")[-1], 1.0), dtype=torch.float32)
        tensors[name + ".input_scale"] = s.reshape(())
        input_scales[name] = s
    def fused_key(n):  # layers of one fused vLLM module (q|k|v, gate|up) share one input quantization
        proj = n.split(".")[-1]
        return (n.rsplit(".", 1)[0], FUSED.get(proj, proj))
    used = {}
    for name, s in input_scales.items():
        used[fused_key(name)] = max(used.get(fused_key(name), s), s)
    hooks = {n: (lambda m, a, s=used[fused_key(n)]: (fake_quant_fp8(a[0], s),) + tuple(a[1:])) for n in input_scales}
    cfg = {"quant_method": "fp8", "activation_scheme": "static", "ignored_layers": ignored}
    return tensors, deq, hooks, cfg


# ---------------------------------------------------------------------------------------------


def dequantized_reference(model, deq, hooks, gen, out_dir, meta):
    """Logits and greedy ids of `model` with dequantized weights and activation hooks."""
    with torch.no_grad():
        for name, w in deq.items():
            model.get_submodule(name).weight.copy_(w)
    handles = [model.get_submodule(n).register_forward_pre_hook(h) for n, h in hooks.items()]
    tensors = {}
    meta.update({"prompts": [], "greedy": []})
    for i, length in enumerate(PROMPT_LENGTHS):
        ids = torch.randint(3, model.config.vocab_size, (1, length), generator=gen)
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
    for h in handles:
        h.remove()
    save_file(tensors, os.path.join(out_dir, "expected.safetensors"))
    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump(meta, f, indent=1)


def write_checkpoint(model, quant_tensors, qcfg, out_dir, config_in_quantize_config=False):
    """model.safetensors: the quantized tensors plus every other parameter in f32."""
    os.makedirs(out_dir, exist_ok=True)
    quantized = {k.rsplit(".", 1)[0] for k in quant_tensors}
    tensors = {k: v.detach().contiguous() for k, v in model.state_dict().items()
               if not (k.endswith(".weight") and k[:-len(".weight")] in quantized)}
    tensors.update({k: v.contiguous() for k, v in quant_tensors.items()})
    save_file(tensors, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})
    cfg = model.config.to_dict()
    cfg.pop("_attn_implementation_autoset", None)
    cfg["architectures"] = ["LlamaForCausalLM"]
    if config_in_quantize_config:
        with open(os.path.join(out_dir, "quantize_config.json"), "w") as f:
            json.dump(qcfg, f, indent=2)
    else:
        cfg["quantization_config"] = qcfg
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)


FORMATS = {
    "quant-gptq": (small_config, lambda m, g: gptq(m, g, act_order=False, sym=True, dynamic={
        r"+:model\.layers\.1\.self_attn\.[qkv]_proj": {"group_size": 64},
        r"-:model\.layers\.0\.mlp\.down_proj": {}})),
    "quant-gptq-actorder": (small_config, lambda m, g: gptq(m, g, act_order=True, sym=False)),
    "quant-awq": (lambda: small_config(attention_bias=True), awq),
    "quant-ct-w4a16": (small_config, lambda m, g: ct_w4a16(m, g, symmetric=True, actorder=False)),
    "quant-ct-w4a16-asym": (small_config, lambda m, g: ct_w4a16(m, g, symmetric=False, actorder=True)),
    "quant-ct-fp8": (small_config, ct_fp8),
    "quant-ct-w8a16": (small_config, ct_w8a16),
    "quant-fp8-mixed": (small_config, fp8_mixed),
}


def make_packed(name, out_root):
    cfg_fn, quantize = FORMATS[name]
    seed = sum(map(ord, name))
    model, gen = build_model(cfg_fn(), seed)
    tensors, deq, hooks, qcfg = quantize(model, gen)
    d = os.path.join(out_root, name)
    write_checkpoint(model, tensors, qcfg, d, config_in_quantize_config=name == "quant-gptq-actorder")
    meta = {"transformers": transformers.__version__, "torch": torch.__version__, "seed": seed,
            "quantization": qcfg, "reference": "f32 eager transformers on the dequantized weights"}
    dequantized_reference(model, deq, hooks, gen, d, meta)
    return d


def dequantize_block(w, scale_inv, block):
    bn, bk = block
    s = scale_inv.float().repeat_interleave(bn, 0)[: w.shape[0]].repeat_interleave(bk, 1)[:, : w.shape[1]]
    return w.float() * s


def make_fp8_block(out_root, emulate, reuse):
    name = "quant-fp8-block"
    seed = sum(map(ord, name))
    model, gen = build_model(fp8_block_config(), seed)
    d = os.path.join(out_root, name)
    os.makedirs(d, exist_ok=True)
    qconf = transformers.FineGrainedFP8Config(weight_block_size=[128, 128], activation_scheme="dynamic")
    path = "from_pretrained(quantization_config=FineGrainedFP8Config(...)) + save_pretrained on " + (
        torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu")
    if reuse and os.path.exists(os.path.join(d, "model.safetensors")):
        # recompute the reference of a checkpoint written before (on the GPU) without quantizing again
        saved = load_file(os.path.join(d, "model.safetensors"))
        with open(os.path.join(d, "expected.json")) as f:
            path = json.load(f)["written_by"]
    elif torch.cuda.is_available() and not emulate:
        with tempfile.TemporaryDirectory() as tmp:
            model.save_pretrained(tmp, safe_serialization=True)
            qmodel = transformers.AutoModelForCausalLM.from_pretrained(
                tmp, quantization_config=qconf, device_map="cuda", dtype=torch.float32)
            qmodel.save_pretrained(d, safe_serialization=True)
            del qmodel
        for extra in ("generation_config.json",):
            if os.path.exists(os.path.join(d, extra)):
                os.remove(os.path.join(d, extra))
        saved = load_file(os.path.join(d, "model.safetensors"))
    elif emulate:  # testing the script without a GPU: transformers' own quantize op, applied directly
        from transformers.integrations.finegrained_fp8 import Fp8Quantize

        class Q:
            quantization_config = qconf
        saved = {}
        for k, v in model.state_dict().items():
            if k.endswith(".weight") and k[:-len(".weight")] in linear_names(model):
                saved.update(Fp8Quantize(Q()).convert({k: v.detach()}))
            else:
                saved[k] = v.detach().contiguous()
        save_file(saved, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
        cfg = model.config.to_dict()
        cfg["architectures"] = ["LlamaForCausalLM"]
        cfg["quantization_config"] = qconf.to_dict()
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2, sort_keys=True)
        path = "EMULATED (transformers Fp8Quantize op on cpu) - not for committing"
    else:
        raise RuntimeError("quant-fp8-block needs a CUDA GPU (FineGrainedFP8 quantizes only there)")
    deq = {}
    for name_ in linear_names(model):
        w = saved[name_ + ".weight"]
        if w.dtype != torch.float8_e4m3fn or (name_ + ".weight_scale_inv") not in saved:
            raise RuntimeError(f"{name_}: saved weight is {w.dtype} without weight_scale_inv; "
                               "save_pretrained did not keep the fp8 checkpoint")
        deq[name_] = dequantize_block(w, saved[name_ + ".weight_scale_inv"], (128, 128))
    # dynamic activations per token group of block_k = 128 columns, as FP8Linear.forward runs them
    hooks = {n: per_token_group_hook(128) for n in linear_names(model)}
    with open(os.path.join(d, "config.json")) as f:
        qcfg = json.load(f)["quantization_config"]
    meta = {"transformers": transformers.__version__, "torch": torch.__version__, "seed": seed,
            "quantization": qcfg, "written_by": path,
            "reference": "f32 eager transformers on the dequantized weights, activations fake-quantized per "
                         "token in groups of 128 columns (FineGrainedFP8 act_quant, vLLM's eps 1e-10)"}
    dequantized_reference(model, deq, hooks, gen, d, meta)
    return d


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    emulate = "--emulate-fp8" in sys.argv
    reuse = "--reuse-fp8-checkpoint" in sys.argv
    out_root, wanted = args[0], args[1:]
    names = ["quant-fp8-block"] + list(FORMATS)
    failed = []
    for name in names:
        if wanted and name not in wanted:
            continue
        try:
            d = make_fp8_block(out_root, emulate, reuse) if name == "quant-fp8-block" else make_packed(name, out_root)
            size = sum(os.path.getsize(os.path.join(d, x)) for x in os.listdir(d))
            with open(os.path.join(d, "expected.json")) as f:
                g0 = json.load(f)["greedy"][0]
            print(f"{name}: ok, {size / 1e6:.2f} MB, greedy_0={g0}", flush=True)
        except Exception:
            failed.append(name)
            print(f"{name}: FAILED", flush=True)
            traceback.print_exc()
    print("failed:", failed)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
