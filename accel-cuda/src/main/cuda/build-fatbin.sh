#!/usr/bin/env bash
# Compiles every *.cu file of this folder into its own fatbin (sm_80 and sm_90a machine code,
# compute_90 PTX for newer GPUs), one module each, loaded at run time by KernelModule with
# cuModuleLoadData; kernels.index lists them.
#
#   build-fatbin.sh OUTPUT_DIR WORK_DIR
#
# Incremental: a file is recompiled only when it, a header (*.cuh) or this script is newer than its
# fatbin, and the stale files compile in parallel (one nvcc per core), so changing one kernel file
# costs that file's compile time, not the whole set's. Kernel names must be unique across files
# (KernelModule looks a name up in every module). Skips (exit 0, with a message) only when no nvcc
# exists; a kernel that does not compile fails the build.
set -euo pipefail

out="$1"
work="$2"
src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

nvcc="${NVCC:-}"
if [[ -z "$nvcc" ]]; then
    for c in "$(command -v nvcc 2>/dev/null || true)" "${CUDA_HOME:-}/bin/nvcc" "${CUDA_PATH:-}/bin/nvcc" \
        /usr/local/cuda/bin/nvcc /opt/cuda/bin/nvcc; do
        if [[ -n "$c" && -x "$c" ]]; then
            nvcc="$c"
            break
        fi
    done
fi
if [[ -z "$nvcc" ]]; then
    echo "[accel-cuda] nvcc not found (PATH, CUDA_HOME, /usr/local/cuda): CUDA kernels NOT built;" \
        "the cuda backend will report itself unavailable. Install the CUDA toolkit or set NVCC=/path/to/nvcc."
    rm -rf "$out"
    exit 0
fi

mapfile -t sources < <(find "$src" -maxdepth 1 -name '*.cu' | LC_ALL=C sort)
if [[ ${#sources[@]} -eq 0 ]]; then
    echo "[accel-cuda] no .cu files in $src" >&2
    exit 1
fi
mkdir -p "$out" "$work"

stale=()
for f in "${sources[@]}"; do
    name="$(basename "$f" .cu)"
    bin="$out/$name.fatbin"
    if [[ ! -f "$bin" || -n "$(find "$f" "$src" -maxdepth 1 \( -name '*.cuh' -o -name 'build-fatbin.sh' -o -samefile "$f" \) \
            -newer "$bin" | head -n 1)" ]]; then
        stale+=("$f")
    fi
done
# a fatbin whose source is gone would still be loaded
for bin in "$out"/*.fatbin; do
    [[ -e "$bin" && ! -f "$src/$(basename "$bin" .fatbin).cu" ]] && rm -f "$bin"
done
index="$out/kernels.index"
for f in "${sources[@]}"; do
    echo "$(basename "$f" .cu).fatbin"
done >"$index.part"
mv "$index.part" "$index"
if [[ ${#stale[@]} -eq 0 ]]; then
    echo "[accel-cuda] kernels are up to date (${#sources[@]} kernel files)"
    exit 0
fi

# one file (--compress-mode=size: about 3x smaller than nvcc's default, which matters for the jar and
# the GPU runs' carry limit); -Xptxas -v writes each kernel's registers, shared memory and spills to its log (kept for reading)
compile() {
    local f="$1" name
    name="$(basename "$f" .cu)"
    if ! "$NVCC_BIN" -fatbin -std=c++17 -O3 --threads 0 --compress-mode=size -I"$SRC" \
        -gencode arch=compute_80,code=sm_80 \
        -gencode arch=compute_90a,code=sm_90a \
        -gencode arch=compute_90,code=compute_90 \
        -Xptxas -v -o "$OUT_DIR/$name.fatbin.part" "$f" 2>"$WORK/$name.log"; then
        grep -v -E '^ptxas info|^ptxas       |^ *Compiling entry|^ *Function properties|bytes stack frame|^ *Used [0-9]+ registers' \
            "$WORK/$name.log" >&2 || true
        echo "[accel-cuda] nvcc FAILED on $name.cu (full log: $WORK/$name.log)" >&2
        rm -f "$OUT_DIR/$name.fatbin.part"
        return 1
    fi
    grep -i -E 'warning' "$WORK/$name.log" >&2 || true
    mv "$OUT_DIR/$name.fatbin.part" "$OUT_DIR/$name.fatbin"
}
export -f compile
export NVCC_BIN="$nvcc" SRC="$src" OUT_DIR="$out" WORK="$work"

jobs="$(nproc 2>/dev/null || echo 2)"
echo "[accel-cuda] $("$nvcc" --version | tail -n 1): compiling ${#stale[@]} of ${#sources[@]} kernel files" \
    "($jobs in parallel) ..."
start=$SECONDS
# the biggest files first, so that they do not end up last on one core
if ! printf '%s\n' "${stale[@]}" | xargs -d '\n' ls -S | xargs -d '\n' -P "$jobs" -n 1 bash -c 'compile "$0"'; then
    echo "[accel-cuda] kernel build FAILED" >&2
    exit 1
fi
cat "$work"/*.log >"$work/resource-usage.txt"
echo "[accel-cuda] built ${#stale[@]} fatbins in $((SECONDS - start)) s ($(($(du -sk "$out" | cut -f1))) KiB in all);" \
    "registers/spills: $work/resource-usage.txt"
