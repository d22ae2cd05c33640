#!/usr/bin/env bash
# The sm_90a machine code size of each kernel of a CUDA source file, largest first: the bytes of its
# .text section in a cubin compiled with build-fatbin.sh's flags. Runs here (nvcc, python3; no GPU).
#
#   bash tools/gpu/kernel-sizes.sh accel-cuda/src/main/cuda/linear.cu [NAME_REGEX]
#
# A batch-1 decode step is a chain of dependent launches in which every kernel starts with its code
# cold, and its time followed the kernels' code size (docs/performance.md run 25): check a decode
# kernel's size, and its registers (nvcc --resource-usage), before and after changing it.
set -euo pipefail

[[ $# -ge 1 && $# -le 2 ]] || { echo "usage: kernel-sizes.sh FILE.cu [NAME_REGEX]" >&2; exit 2; }
src="$1"
filter="${2:-.}"
[[ -f "$src" ]] || { echo "kernel-sizes.sh: no such file: $src" >&2; exit 2; }
command -v nvcc >/dev/null || { echo "kernel-sizes.sh: nvcc not found on PATH" >&2; exit 1; }
cuda_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../accel-cuda/src/main/cuda" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

nvcc -cubin -std=c++17 -O3 -I"$cuda_dir" -I"$(dirname "$src")" -gencode arch=compute_90a,code=sm_90a \
    -o "$tmp/k.cubin" "$src"
python3 - "$tmp/k.cubin" "$filter" <<'PY'
import re, struct, sys
data = open(sys.argv[1], "rb").read()
if data[:4] != b"\x7fELF" or data[4] != 2:
    sys.exit("kernel-sizes.sh: not a 64-bit ELF cubin")
shoff = struct.unpack_from("<Q", data, 0x28)[0]
entsize, count, names_index = struct.unpack_from("<HHH", data, 0x3A)
headers = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * entsize) for i in range(count)]
names_at = headers[names_index][4]
def name(h):
    start = names_at + h[0]
    return data[start:data.index(b"\0", start)].decode()
sizes = sorted(((h[5], name(h)[len(".text."):]) for h in headers if name(h).startswith(".text.")), reverse=True)
pattern = re.compile(sys.argv[2])
for size, kernel in sizes:
    if pattern.search(kernel):
        print(f"{size:9d}  {kernel}")
PY
