#!/usr/bin/env bash
# Runs on the GPU machine (no Java, no Maven), from the repo root, with .gpu/ carried over
# (made by tools/gpu/package.sh).
#
#   bash tools/gpu/run-tests.sh [junit console options...]
#       runs the JUnit console launcher over every module's test classes; options pass through,
#       e.g. --include-classname '.*Cuda.*'  or  --select-class dev.jvllm.cuda.CudaBackendTest
#       (a --select-* option replaces the class-path scan).
#   bash tools/gpu/run-tests.sh --cli <jvllm args...>
#       runs the jvllm CLI, e.g. --cli backends
#   bash tools/gpu/run-tests.sh --main <class> [args...]
#       runs a main class of the jars or test classes, e.g. --main dev.jvllm.cuda.CudaOpsBench
#
# Reports (JUnit XML) and the console log go to $OUT when set.
# Environment: JVLLM_JAVA_OPTS extra JVM options (e.g. -Xmx32g -Djvllm.backend=cuda);
#   JVLLM_JAVA_WRAPPER a command that runs java for --main and --cli (e.g. "ncu --profile-from-start off");
#   JVLLM_CLASSPATH_FIRST class-path entries put before the jars for --main and --cli, e.g. a folder
#   holding dev/jvllm/cuda/kernels/<file>.fatbin built from other kernel sources: KernelModule
#   then loads those modules instead of the jar's, so two kernel builds can be timed in one call.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT" || exit 1
G="$ROOT/.gpu"
JRT_PARENT="${JVLLM_JRT_DIR:-/tmp}"
JRT="$JRT_PARENT/jrt"

die() {
    printf 'run-tests.sh: %s\n' "$*" >&2
    exit 1
}

[[ -f "$G/jrt.txz" ]] || die ".gpu/jrt.txz missing: run bash tools/gpu/package.sh first, and carry .gpu"

# Unpack the runtime once per jrt.txz (python's lzma where tar has no xz).
sum="$(cksum <"$G/jrt.txz")"
if [[ ! -x "$JRT/bin/java" || "$(cat "$JRT/.jrt.cksum" 2>/dev/null)" != "$sum" ]]; then
    rm -rf "$JRT"
    mkdir -p "$JRT_PARENT"
    if command -v xz >/dev/null 2>&1; then
        tar xJf "$G/jrt.txz" -C "$JRT_PARENT"
    else
        python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$G/jrt.txz" "$JRT_PARENT"
    fi || die "could not unpack .gpu/jrt.txz into $JRT_PARENT"
    printf '%s\n' "$sum" >"$JRT/.jrt.cksum"
fi
# package.sh leaves the model fixtures out of .gpu: the checkout's copy travels anyway (a copy of
# tools/ and .gpu/ run from a folder inside the checkout finds it one level up).
if [[ -d "$G/test-classes/models" && ! -e "$G/test-classes/models/fixtures" ]]; then
    for f in "$ROOT/models/src/test/resources/fixtures" "$ROOT/../models/src/test/resources/fixtures"; do
        if [[ -d "$f" ]]; then
            ln -s "$(cd "$f" && pwd)" "$G/test-classes/models/fixtures"
            break
        fi
    done
fi
JAVA="$JRT/bin/java"
# shellcheck disable=SC2206  # JVLLM_JAVA_WRAPPER is a command line
WRAP=(${JVLLM_JAVA_WRAPPER:-})
# shellcheck disable=SC2206  # JVLLM_JAVA_OPTS is a list of options
JVM=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xss4m ${JVLLM_JAVA_OPTS:-})

if [[ "${1:-}" == "--cli" ]]; then
    shift
    exec "${WRAP[@]}" "$JAVA" "${JVM[@]}" -cp "${JVLLM_CLASSPATH_FIRST:+$JVLLM_CLASSPATH_FIRST:}$G/lib/*" dev.jvllm.engine.cli.Main "$@"
fi

if [[ "${1:-}" == "--main" ]]; then
    shift
    classes=""
    for d in "$G"/test-classes/*/; do
        [[ -d "$d" ]] && classes+=":${d%/}"
    done
    exec "${WRAP[@]}" "$JAVA" "${JVM[@]}" -cp "${JVLLM_CLASSPATH_FIRST:+$JVLLM_CLASSPATH_FIRST:}$G/lib/*$classes" "$@"
fi

console=("$G"/junit-platform-console-standalone-*.jar)
[[ -f "${console[0]}" ]] || die ".gpu/junit-platform-console-standalone-*.jar missing: run tools/gpu/package.sh"

dirs=()
for d in "$G"/test-classes/*/; do
    [[ -d "$d" ]] && dirs+=("${d%/}")
done
[[ ${#dirs[@]} -gt 0 ]] || die "no test classes under .gpu/test-classes"
test_cp="$(IFS=:; echo "${dirs[*]}")"

# Explicit selectors and a class-path scan cannot be combined.
scan=(--scan-class-path="$test_cp")
for a in "$@"; do
    case "$a" in
        --select* | --scan-class-path* | --scan-classpath* | --scan-modules | \
            -u | -f | -d | -o | -p | -c | -m | -r | -i)
            scan=()
            ;;
    esac
done

reports=()
if [[ -n "${OUT:-}" ]]; then
    mkdir -p "$OUT/junit"
    OUT="$(cd "$OUT" && pwd)" # the tests run from a module directory (below)
    reports=(--reports-dir="$OUT/junit")
fi

if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | sed 's/^/GPU: /'
fi
"$JAVA" -version 2>&1 | head -n 1 | sed 's/^/java: /'

cmd=("$JAVA" "${JVM[@]}" -cp "$G/lib/*:$test_cp:${console[0]}"
    org.junit.platform.console.ConsoleLauncher execute
    --disable-banner --disable-ansi-colors --details=tree --fail-if-no-tests
    "${scan[@]}" "${reports[@]}" "$@")

# Tests run from a module directory, as under Maven: the engine's tests find the model fixtures at
# ../models/... (a copy of tools/ and .gpu/ in a folder inside the checkout is one level down already).
if [[ -d "$ROOT/engine" ]]; then
    cd "$ROOT/engine" || exit 1
fi
if [[ -n "${OUT:-}" ]]; then
    "${cmd[@]}" 2>&1 | tee "$OUT/run-tests.log"
    exit "${PIPESTATUS[0]}"
fi
exec "${cmd[@]}"
