# Shared by the tools/bench scripts: finds the JDK, builds the benchmarks module, runs a main of it.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
JDK="$("$ROOT/jvllm" --print-java-home)"
export JAVA_HOME="$JDK"

build_benchmarks() {
    printf 'building the benchmarks module ...\n' >&2
    local log rc=0
    log="$(cd "$ROOT" && mvn -B -q -ntp -pl benchmarks -am -Dmaven.test.skip=true package 2>&1)" || rc=$?
    if [[ "$rc" -ne 0 ]]; then
        printf '%s\n' "$log" | sed $'s/\e\\[[0-9;]*m//g' >&2
        printf 'build failed (mvn -pl benchmarks -am package, exit %s)\n' "$rc" >&2
        exit 1
    fi
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
