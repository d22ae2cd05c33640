#!/usr/bin/env bash
# jvllm against Jlama 0.8.4 on the CPU, batch 1, on the same random bf16 checkpoint of Llama-3.2-1B's
# shape (vocab 32000), same 128-token prompt, 64 greedy tokens, same threads; one fresh JVM per
# measurement, sides interleaved, machine limits probed right before and after each.
#
#   tools/bench/compare-jlama.sh [--threads N] [--rounds R] [--sides jvllm,jlama,jlama-java]
#                                [--prompt-tokens 128] [--new-tokens 64]
#
# The checkpoint is written once (jvllm save-random) to $JVLLM_BENCH_DIR (default /tmp/jvllm-bench).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
MODEL="${JVLLM_BENCH_DIR:-/tmp/jvllm-bench}/llama-3.2-1b-vocab32k-bf16"
build_benchmarks
if [[ ! -f "$MODEL/model.safetensors" ]]; then
    rm -rf "$MODEL"
    "$ROOT/jvllm" save-random --preset llama-3.2-1b --vocab-size 32000 --dtype bf16 --seed 1234 --output "$MODEL"
fi
echo "load before: $(cat /proc/loadavg 2>/dev/null || uptime)"
BENCH_JAVA_OPTS="${BENCH_JAVA_OPTS:--Xmx6g}" run_bench dev.jvllm.bench.CompareJlama --model "$MODEL" "$@"
echo "load after:  $(cat /proc/loadavg 2>/dev/null || uptime)"
