#!/usr/bin/env bash
# The GPU side-by-side of issue 7, in one run on one machine (run it on the GPU machine from the
# repo root, with .gpu/ made by tools/gpu/package.sh; python3 with torch + transformers there):
#
#   1. a random bf16 checkpoint of Llama-3.2-1B shape (vocab 32000, tied embeddings), written by
#      transformers (make_random_checkpoint.py), loaded by both sides;
#   2. the GPU's copy bandwidth (gpu_bandwidth.py), the ceiling of a bandwidth-bound decode;
#   3. jvllm on the CUDA backend, bf16: bench latency (batch 1, 128 prompt tokens, 64 decoded) and
#      bench throughput (64 requests x 128 in / 128 out), each without and with --async-scheduling,
#      then one profiled latency run
#      after the warm-up (-Djvllm.cuda.profile=true: GPU and host time per op and shape);
#   4. transformers (transformers_gpu.py): batch-1 decode with a static cache without and with
#      torch.compile, throughput of generate with a static cache on the same workload;
#   5. the ratios, and decode as a fraction of the bandwidth (weight bytes / time per token).
#
#   bash tools/bench/compare-gpu.sh [--skip-compile] [--checkpoint DIR] [--hf-timeout SECONDS]
#
# Writes to $OUT (or .gpu/out): compare.log (every command and its output), profile.txt,
# results.json (all figures) and summary.txt. jvllm runs first, so its figures survive a
# transformers run that overruns --hf-timeout (default 360 s: compiling takes minutes).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT" || exit 1
out="${OUT:-$ROOT/.gpu/out}"
mkdir -p "$out"
ckpt=/tmp/jvllm-bench-llama-3.2-1b
hf_args=() hf_timeout=360
while [[ $# -gt 0 ]]; do
    case "$1" in
        --skip-compile) hf_args+=(--skip-compile); shift ;;
        --checkpoint) ckpt="$2"; shift 2 ;;
        --hf-timeout) hf_timeout="$2"; shift 2 ;;
        *) echo "compare-gpu.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
export PYTHONUNBUFFERED=1
log="$out/compare.log"
: >"$log"
step() {
    echo "\$ $*" | tee -a "$log"
}
jvllm() {
    bash tools/gpu/run-tests.sh --cli "$@"
}
tmp="$(mktemp -d)"

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.memory --format=csv 2>&1 | tee -a "$log"
if [[ ! -f "$ckpt/config.json" ]]; then
    step python3 tools/bench/make_random_checkpoint.py "$ckpt"
    python3 tools/bench/make_random_checkpoint.py "$ckpt" 2>>"$log" | tee "$tmp/checkpoint.json" | tee -a "$log"
fi
step python3 tools/bench/gpu_bandwidth.py
python3 tools/bench/gpu_bandwidth.py 2>>"$log" | tee "$tmp/bandwidth.json" | tee -a "$log"

common=(--model "$ckpt" --backend cuda --dtype bf16 --max-model-len 1024 --json)
# 10 warm-up runs: the engine's per-step Java code is C2-compiled by then (a server's steady state;
# transformers' figure is its best of 3 after 2 warm-ups)
step jvllm bench latency "${common[@]}" --batch-size 1 --input-len 128 --output-len 64 --num-iters 5 --num-iters-warmup 10
jvllm bench latency "${common[@]}" --batch-size 1 --input-len 128 --output-len 64 --num-iters 5 --num-iters-warmup 10 2>>"$log" \
    | tee -a "$log" | tail -n 1 >"$tmp/jvllm-latency.json"
step jvllm bench latency "${common[@]}" --async-scheduling --batch-size 1 --input-len 128 --output-len 64 --num-iters 5 --num-iters-warmup 10
jvllm bench latency "${common[@]}" --async-scheduling --batch-size 1 --input-len 128 --output-len 64 --num-iters 5 \
    --num-iters-warmup 10 2>>"$log" | tee -a "$log" | tail -n 1 >"$tmp/jvllm-latency-async.json"
step jvllm bench throughput "${common[@]}" --num-prompts 64 --input-len 128 --output-len 128
jvllm bench throughput "${common[@]}" --num-prompts 64 --input-len 128 --output-len 128 2>>"$log" \
    | tee -a "$log" | tail -n 1 >"$tmp/jvllm-throughput.json"
step jvllm bench throughput "${common[@]}" --async-scheduling --num-prompts 64 --input-len 128 --output-len 128
jvllm bench throughput "${common[@]}" --async-scheduling --num-prompts 64 --input-len 128 --output-len 128 2>>"$log" \
    | tee -a "$log" | tail -n 1 >"$tmp/jvllm-throughput-async.json"
# profile after the warm-up: 2 iterations of 64 steps (one synchronized window each) plus loading
step "JVLLM_JAVA_OPTS='-Djvllm.cuda.profile=true -Djvllm.cuda.profile.skip=140' jvllm bench latency ... --num-iters 3 --num-iters-warmup 2"
JVLLM_JAVA_OPTS="-Djvllm.cuda.profile=true -Djvllm.cuda.profile.skip=140" jvllm bench latency "${common[@]}" \
    --batch-size 1 --input-len 128 --output-len 64 --num-iters 3 --num-iters-warmup 2 >"$out/profile.txt" 2>&1
tail -n 40 "$out/profile.txt" >>"$log"

step python3 tools/bench/transformers_gpu.py "$ckpt" --prompt 128 --decode 64 --requests 64 --out-tokens 128 "${hf_args[@]}"
timeout "$hf_timeout" python3 tools/bench/transformers_gpu.py "$ckpt" --prompt 128 --decode 64 --requests 64 \
    --out-tokens 128 --json "$tmp/transformers.json" "${hf_args[@]}" >>"$log" 2>&1 \
    || echo "transformers_gpu.py failed or ran past ${hf_timeout}s (exit $?); its partial results are kept" | tee -a "$log"

python3 - "$tmp" "$out" <<'PY' | tee "$out/summary.txt"
import json, os, sys
tmp, out = sys.argv[1], sys.argv[2]
def load(name):
    p = os.path.join(tmp, name)
    try:
        with open(p) as f:
            return json.load(f)
    except Exception as e:
        return {"missing": f"{name}: {e}"}
r = {k: load(k + ".json") for k in ("checkpoint", "bandwidth", "jvllm-latency", "jvllm-throughput", "jvllm-latency-async",
                                     "jvllm-throughput-async", "transformers")}
with open(os.path.join(out, "results.json"), "w") as f:
    json.dump(r, f, indent=1)
bw = r["bandwidth"].get("copy_bandwidth_gb_s")
hf = r["transformers"]
wbytes = hf.get("weight_bytes") or r["checkpoint"].get("weight_bytes")
print(f"device: {r['bandwidth'].get('device')}, copy bandwidth {bw:.0f} GB/s" if bw else "bandwidth: missing")
print(f"checkpoint: {wbytes / 1e9:.3f} GB of bf16 weights" if wbytes else "checkpoint: missing")
rows = []
jl, jt = r["jvllm-latency"], r["jvllm-throughput"]
jla, jta = r["jvllm-latency-async"], r["jvllm-throughput-async"]
def line(name, tpot_ms=None, decode=None, thr=None):
    frac = f"{wbytes / (tpot_ms / 1000) / 1e9 / bw:.0%} of copy bw" if (tpot_ms and wbytes and bw) else ""
    d = f"{decode:9.1f} tok/s ({tpot_ms:.3f} ms/token, {frac})" if decode else ""
    t = f"{thr:9.1f} out tok/s" if thr else ""
    print(f"  {name:38s} {d} {t}")
print("batch-1 decode (128-token prompt, 64 new tokens):")
line("jvllm cuda bf16", jl.get("time_per_output_token_ms"), jl.get("decode_tok_s"))
line("jvllm cuda bf16, --async-scheduling", jla.get("time_per_output_token_ms"), jla.get("decode_tok_s"))
for key, name in (("latency_static", "transformers static cache"), ("latency_static_compiled", "transformers static cache + compile")):
    if key in hf:
        line(name, hf[key]["time_per_output_token_ms"], hf[key]["decode_tok_s"])
print("throughput (64 requests x 128 in / 128 out):")
line("jvllm cuda bf16", thr=jt.get("output_tok_s"))
line("jvllm cuda bf16, --async-scheduling", thr=jta.get("output_tok_s"))
if "throughput_static" in hf:
    line("transformers generate, static cache", thr=hf["throughput_static"]["output_tok_s"])
print("ratios (targets: decode >= 3x transformers+compile and >= 60% of bandwidth; throughput >= 5x):")
def ratio(a, b, what):
    print(f"  {what}: {a / b:.2f}x" if (a and b) else f"  {what}: n/a")
ratio(jl.get("decode_tok_s"), hf.get("latency_static_compiled", {}).get("decode_tok_s"), "decode vs transformers+compile")
ratio(jl.get("decode_tok_s"), hf.get("latency_static", {}).get("decode_tok_s"), "decode vs transformers (no compile)")
ratio(jt.get("output_tok_s"), hf.get("throughput_static", {}).get("output_tok_s"), "throughput vs transformers")
ratio(jla.get("decode_tok_s"), hf.get("latency_static_compiled", {}).get("decode_tok_s"),
      "decode vs transformers+compile, --async-scheduling")
ratio(jta.get("output_tok_s"), hf.get("throughput_static", {}).get("output_tok_s"), "throughput vs transformers, --async-scheduling")
PY
rm -rf "$tmp"
