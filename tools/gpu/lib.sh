# Sourced by the GPU machine's model-level scripts (model-tests.sh, multi-gpu.sh), with the script's
# arguments: moves to the repo root and sets
#   out         $OUT, else .gpu/out (created)
#   text_model  the --text-model DIR argument ("" without it; any other argument is an error)
#   fixtures    the models' test fixtures, here or one level up (a copy of tools/ and .gpu/ run from a
#               folder inside the checkout)
# and defines cli (the jvllm CLI, echoed with its exit code).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT" || exit 1
script="$(basename "$0")"
out="${OUT:-$ROOT/.gpu/out}"
mkdir -p "$out"
text_model=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --text-model) text_model="$2"; shift 2 ;;
        *) echo "$script: unknown argument $1" >&2; exit 2 ;;
    esac
done
fixtures=models/src/test/resources/fixtures
[[ -d "$fixtures/llama" ]] || fixtures=../models/src/test/resources/fixtures
[[ -d "$fixtures/llama" ]] || { echo "$script: no models/src/test/resources/fixtures here or one level up" >&2; exit 1; }

cli() {
    echo "\$ jvllm $*"
    bash tools/gpu/run-tests.sh --cli "$@" 2>&1
    local rc=$?
    echo "(exit $rc)"
    return $rc
}
