# Shared by the tools/bench scripts: finds the JDK, builds the benchmarks module, runs a main of it.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
JDK="$("$ROOT/jvllm" --print-java-home)"
export JAVA_HOME="$JDK"

build_benchmarks() {
    printf 'building the benchmarks module ...\n' >&2
    (cd "$ROOT" && mvn -B -q -ntp -pl benchmarks -am -Dmaven.test.skip=true package) 2>&1 \
        | grep -v -e '^WARNING' -e '^\[0m' >&2 || true
    [[ -d "$ROOT/benchmarks/target/lib" ]] || { echo "build failed: no benchmarks/target/lib" >&2; exit 1; }
}

# run_bench MAIN_CLASS [args...]; extra JVM options in BENCH_JAVA_OPTS
run_bench() {
    local main="$1"
    shift
    # shellcheck disable=SC2086
    "$JDK/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED ${BENCH_JAVA_OPTS:-} \
        -cp "$ROOT/benchmarks/target/classes:$ROOT/benchmarks/target/lib/*" "$main" "$@" 2>&1 \
        | grep --line-buffered -v -e "^WARNING: Using incubator modules" -e "^SLF4J:"
}
