#!/usr/bin/env bash
# Runs on the GPU machine (from the repo root, .gpu/ carried; see README.md): the model-level GPU
# checks, writing to $OUT (or .gpu/out):
#
#   model-tests.log   CudaParityTest (every fixture, f32 and bf16 rules), CudaEngineTest and CudaDecodeGraphsTest
#                     (batched == alone greedy), with the skip reasons (ops the backend lacks)
#   cli.log           the CLI on the GPU: backends, generate (text on --text-model, token ids on a
#                     fixture), bench latency
#
#   bash tools/gpu/model-tests.sh [--text-model DIR]   (DIR: a checkpoint with tokenizer.json,
#                                                       e.g. default-model/; its generate is skipped without it)
# Exit code: non-zero when a test or a CLI run failed.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

scratch="$(mktemp -d)"
status=0
OUT="$scratch" JVLLM_JAVA_OPTS="-Xmx16g" bash tools/gpu/run-tests.sh \
    --select-class dev.jvllm.models.CudaParityTest --select-class dev.jvllm.engine.core.CudaEngineTest \
    --select-class dev.jvllm.engine.core.CudaDecodeGraphsTest \
    >"$out/model-tests.log" 2>&1 || status=1
grep -E 'tests (successful|failed|aborted|skipped)|cannot run|MethodSource|✘' "$out/model-tests.log" | head -n 120

{
    cli backends || status=1
    cli generate --model "$fixtures/llama" --backend cuda --prompt-token-ids 5,17,3,99,250 --max-tokens 16 \
        --temperature 0 --json || status=1
    if [[ -n "$text_model" ]]; then
        cli generate --model "$text_model" --backend cuda --temperature 0 --max-tokens 48 \
            "In the beginning" "And the LORD said" || status=1
        cli bench latency --model "$text_model" --backend cuda --input-len 32 --output-len 32 --num-iters 2 || status=1
        # sampling needs the Sample op: a clear error until the sampling kernels exist
        cli generate --model "$text_model" --backend cuda --max-tokens 16 --seed 1 "In the beginning"
    fi
} >"$out/cli.log" 2>&1
cat "$out/cli.log" | cut -c1-300 | tail -n 60
rm -rf "$scratch"
exit $status
