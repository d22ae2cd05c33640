#!/usr/bin/env bash
# Runs on a GPU machine (from the repo root, .gpu/ carried; see README.md): tensor parallelism on the
# CUDA backend, on however many GPUs the machine has (ranks wrap around the devices, so one GPU works
# too), writing to $OUT (or .gpu/out):
#
#   topology.txt        nvidia-smi topo, the devices the driver sees and peer access between them
#   group-tests.log     CudaGroupTest (placement, device-side ordering, failures on every rank)
#   conformance.log     the collective conformance cases (all_reduce, all_gather, broadcast over
#   collectives.md      groups of 2, 3 and 4 ranks; bit-exact rank-order sums) and their report
#   tp-tests.log        CudaParityTest's tensor-parallel test (tp=2/4 logits == tp=1, greedy equal) and
#                       CudaEngineTest's (the engine over 2 ranks == one rank alone)
#   cli.log             jvllm generate --backend cuda --tensor-parallel-size 2 (and 1, to compare)
#
#   bash tools/gpu/multi-gpu.sh [--text-model DIR]   (DIR: a checkpoint with tokenizer.json whose heads
#                                                     2 divides, e.g. default-model/; skipped without it)
# Exit code: non-zero when a test, a conformance case or a CLI run failed, or tp=2 and tp=1 disagree.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

status=0
scratch="$(mktemp -d)"
{
    nvidia-smi --query-gpu=index,name,memory.total,pci.bus_id --format=csv 2>&1
    nvidia-smi topo -m 2>&1
    bash tools/gpu/run-tests.sh --main dev.jvllm.cuda.CudaTopology 2>&1
} >"$out/topology.txt"
cat "$out/topology.txt"

section() {
    echo "== $1: $(grep -E 'tests (successful|failed|aborted|skipped)' "$2" | tr -s ' ' | tr '\n' ' ')"
    grep -E '✘|cannot run|Exception' "$2" | head -n 30
}

OUT="$scratch/group" JVLLM_JAVA_OPTS="-Xmx8g" bash tools/gpu/run-tests.sh \
    --select-class dev.jvllm.cuda.CudaGroupTest >"$out/group-tests.log" 2>&1 || status=1
section "CudaGroupTest" "$out/group-tests.log"

OUT="$scratch/conformance" JVLLM_JAVA_OPTS="-Xmx8g -Djvllm.conformance.op=collective \
-Djvllm.conformance.report=$out/collectives.md" bash tools/gpu/run-tests.sh \
    --select-class dev.jvllm.cuda.CudaConformanceTest >"$out/conformance.log" 2>&1 || status=1
section "collective conformance" "$out/conformance.log"
grep -E '^\[conformance\] [a-z_0-9]+:|FAIL ' "$out/conformance.log" | head -n 40

OUT="$scratch/tp" JVLLM_JAVA_OPTS="-Xmx16g" bash tools/gpu/run-tests.sh \
    --select-method 'dev.jvllm.models.CudaParityTest#tensorParallelRanksEqualOneRank(java.lang.String)' \
    --select-method 'dev.jvllm.engine.core.CudaEngineTest#twoTensorParallelRanksGiveEachPromptItsSingleRankContinuation(java.lang.String)' \
    >"$out/tp-tests.log" 2>&1 || status=1
section "tensor-parallel model and engine tests" "$out/tp-tests.log"

ids() { # the token ids of a --json generate run at tensor-parallel size $1
    bash tools/gpu/run-tests.sh --cli generate --model "$fixtures/llama" --backend cuda --dtype f32 \
        --tensor-parallel-size "$1" --prompt-token-ids 5,17,3,99,250 --max-tokens 16 --temperature 0 --json 2>>"$out/cli.log"
}
{
    tp1="$(ids 1)" || status=1
    tp2="$(ids 2)" || status=1
    echo "tp=1: $tp1"
    echo "tp=2: $tp2"
    if [[ -z "$tp1" || "$tp1" != "$tp2" ]]; then
        echo "FAIL: generate --tensor-parallel-size 2 differs from 1"
        status=1
    fi
    if [[ -n "$text_model" ]]; then
        cli generate --model "$text_model" --backend cuda --tensor-parallel-size 2 --temperature 0 --max-tokens 32 \
            "In the beginning" "And the LORD said" || status=1
        cli bench latency --model "$text_model" --backend cuda --tensor-parallel-size 2 --input-len 32 --output-len 32 \
            --num-iters 2 || status=1
    fi
} >>"$out/cli.log" 2>&1
cut -c1-300 "$out/cli.log" | tail -n 40
rm -rf "$scratch"
echo "multi-gpu.sh: exit $status"
exit $status
