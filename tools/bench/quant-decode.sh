#!/usr/bin/env bash
# CPU decode tok/s and weight memory per quantized format against dense bf16, batch 1: random
# checkpoints of one shape (jvllm save-random, Llama-3.2-1B's by default, vocab 32000, seed 1234),
# every format the RTN quantization of the same dense weights; one fresh JVM per measurement, same
# threads, formats interleaved round by round, read bandwidth probed right before and after each.
#
#   tools/bench/quant-decode.sh [--preset llama-3.2-1b | --config CONFIG.json] [--formats dense,fp8,...]
#                               [--threads N] [--rounds R] [--prompt-tokens 32] [--new-tokens 32]
#
# Checkpoints are written once to $JVLLM_BENCH_DIR (default /tmp/jvllm-bench)/quant-<shape>/<format>
# (about 12 GB for the 1B shape and every format). Formats: dense and save-random's --quantization names.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
SHAPE=(--preset llama-3.2-1b)
NAME=llama-3.2-1b
FORMATS=dense,fp8,fp8-block,fp8-dynamic,w8a16,gptq-8bit,gptq,gptq-act-order,awq,w4a16,w4a16-asym
PASS=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --preset) SHAPE=(--preset "$2"); NAME="$2"; shift 2 ;;
        --config) SHAPE=(--config "$2"); NAME="$(basename "$2" .json)"; shift 2 ;;
        --formats) FORMATS="$2"; shift 2 ;;
        --threads|--rounds|--prompt-tokens|--new-tokens) PASS+=("$1" "$2"); shift 2 ;;
        *) echo "quant-decode.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
DIR="${JVLLM_BENCH_DIR:-/tmp/jvllm-bench}/quant-$NAME-vocab32k"
IFS=, read -ra LIST <<<"$FORMATS"
for f in "${LIST[@]}"; do
    if [[ ! -f "$DIR/$f/config.json" ]]; then # config.json is written last: its absence means incomplete
        rm -rf "${DIR:?}/$f"
        q=()
        [[ "$f" != dense ]] && q=(--quantization "$f")
        "$ROOT/jvllm" save-random "${SHAPE[@]}" --vocab-size 32000 --dtype bf16 --seed 1234 --output "$DIR/$f" "${q[@]}"
    fi
done
build_benchmarks
echo "load before: $(cat /proc/loadavg 2>/dev/null || uptime)"
BENCH_JAVA_OPTS="${BENCH_JAVA_OPTS:--Xmx4g}" run_bench dev.jvllm.bench.QuantDecode --dir "$DIR" --formats "$FORMATS" \
    "${PASS[@]}"
echo "load after:  $(cat /proc/loadavg 2>/dev/null || uptime)"
