#!/usr/bin/env bash
# The CPU op benchmarks (JMH, benchmarks/src/main/java/dev/jvllm/bench/ops) between two probes of the
# machine's limits, every result also as a fraction of the FMA peak and of the read bandwidth.
#
#   tools/bench/ops.sh                                   all of them (about 15 minutes on 2 cores)
#   tools/bench/ops.sh LinearBench -p t=1,8 -p weight=bf16   any JMH arguments: a regex, -p, -f, -wi, -i ...
#   tools/bench/ops.sh -p threads=1 RmsNorm              threads of the CPU backend (default: all cores)
#
# The build (mvn verify) only compiles these benchmarks; this script runs them.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
build_benchmarks
echo "load: $(cat /proc/loadavg 2>/dev/null || uptime)"
run_bench dev.jvllm.bench.ops.OpsMain "$@"
echo "load: $(cat /proc/loadavg 2>/dev/null || uptime)"
