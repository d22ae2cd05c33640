#!/bin/bash
# Cache interoperability with the real huggingface_hub, both ways, against the test FakeHub (no network):
# huggingface_hub downloads from the FakeHub (so the fake speaks the hub's protocol) and reads the cache
# jvllm wrote; jvllm reads the cache huggingface_hub wrote. Needs a python with huggingface_hub:
#   PYTHON=/path/to/venv/bin/python bash tools/oracle/hub_cache_interop/run.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
PYTHON=${PYTHON:-python3}
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
mvn -B -q -ntp -pl engine -am test-compile dependency:build-classpath -Dmdep.outputFile=target/interop.cp >/dev/null
work=$(mktemp -d)
cp="$(cat engine/target/interop.cp):engine/target/classes:engine/target/test-classes"
"$JAVA_HOME/bin/javac" -d "$work/classes" -cp "$cp" tools/oracle/hub_cache_interop/Serve.java
run() { "$JAVA_HOME/bin/java" -Dserve.ms="${1}" -cp "$cp:$work/classes" dev.jvllm.engine.hub.Serve "${@:2}" 2>/dev/null; }
run 30000 "$work/endpoint" "$work/jvllm-cache" &
for _ in $(seq 100); do [ -s "$work/endpoint" ] && break; sleep 0.2; done
HF_ENDPOINT=$(cat "$work/endpoint") HF_HUB_DISABLE_TELEMETRY=1 "$PYTHON" tools/oracle/hub_cache_interop/check.py \
    "$work/python-cache" "$work/jvllm-cache"
wait
run 0 "$work/endpoint2" "$work/jvllm-cache2" "$work/python-cache"
rm -rf "$work"
