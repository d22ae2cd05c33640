#!/usr/bin/env bash
# Runs on the GPU machine (from the repo root, .gpu/ carried; see README.md): the CUDA backend's
# own tests, then the conformance suite against it, writing to $OUT (or .gpu/out):
#
#   device.txt          nvidia-smi and the driver/toolkit seen
#   backend-tests.log   CudaBackendTest (transfers, allocator, device errors, threads), CudaGraphTest (capture/replay)
#   conformance.log     CudaConformanceTest, one line per op and every failure
#   cuda.md             the conformance report (docs/conformance/cuda.md is this file, committed)
#
#   bash tools/gpu/cuda-conformance.sh [--seed S] [--examples N] [--op FILTER] [--case REGEX]
# Exit code: non-zero when a test or conformance case failed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT" || exit 1
out="${OUT:-$ROOT/.gpu/out}"
mkdir -p "$out"
seed=42 examples=30 ops="" cases=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seed) seed="$2"; shift 2 ;;
        --examples) examples="$2"; shift 2 ;;
        --op) ops="$2"; shift 2 ;;
        --case) cases="$2"; shift 2 ;;
        *) echo "cuda-conformance.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

{
    nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv 2>&1
    command -v nvcc >/dev/null && nvcc --version | tail -n 1
    ls /usr/local/cuda/lib64/libcublas.so* 2>/dev/null
} >"$out/device.txt"
cat "$out/device.txt"

# run-tests.sh writes its JUnit XML and log under its own OUT; keep them out of the returned files
scratch="$(mktemp -d)"
status=0
OUT="$scratch/backend" JVLLM_JAVA_OPTS="-Xmx8g" bash tools/gpu/run-tests.sh \
    --select-class dev.jvllm.cuda.CudaBackendTest --select-class dev.jvllm.cuda.CudaGraphTest >"$out/backend-tests.log" 2>&1 || status=1
tail -n 25 "$out/backend-tests.log"

props="-Xmx16g -Djvllm.conformance.seed=$seed -Djvllm.conformance.examples=$examples"
props+=" -Djvllm.conformance.report=$out/cuda.md"
[[ -n "$ops" ]] && props+=" -Djvllm.conformance.op=$ops"
[[ -n "$cases" ]] && props+=" -Djvllm.conformance.case=$cases"
OUT="$scratch/conformance" JVLLM_JAVA_OPTS="$props" bash tools/gpu/run-tests.sh \
    --select-class dev.jvllm.cuda.CudaConformanceTest >"$out/conformance.log" 2>&1 || status=1
grep -E '^\[conformance\] [a-z_0-9]+:|FAIL ' "$out/conformance.log" | head -n 80
grep -E 'tests (successful|failed|aborted)' "$out/conformance.log"
rm -rf "$scratch"
exit $status
