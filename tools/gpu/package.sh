#!/usr/bin/env bash
# Packages everything the GPU machine needs to run the tests (it has no Java and no Maven)
# into the git-ignored folder .gpu/ at the repo root:
#
#   .gpu/jrt.txz                 a jlink'd Java runtime, uncompressed image in an xz tarball (about 14 MB;
#                                built once, cached; rebuilt when the JDK changes)
#   .gpu/lib/                    every module jar + their runtime and test dependency jars, except
#                                Jazzer's (GPU runs do not fuzz) and jinjava/Guava (no chat templates)
#   .gpu/test-classes/<module>/  each module's compiled test classes and test resources, except the
#                                model fixtures: run-tests.sh links them from the checkout, which
#                                travels anyway
#   .gpu/junit-platform-console-standalone-<v>.jar
#
# Then run there (see tools/gpu/README.md): carry .gpu, command: bash tools/gpu/run-tests.sh [args]
#
# The build is incremental (a few seconds when nothing changed).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
G="$ROOT/.gpu"
MAX_MIB=34
JRT_MODULES="java.base,jdk.incubator.vector,java.logging,jdk.unsupported,java.management,jdk.management,java.net.http,java.xml,java.sql,jdk.zipfs,java.instrument,jdk.attach"

die() {
    printf 'package.sh: %s\n' "$*" >&2
    exit 1
}

[[ $# -eq 0 ]] || die "no arguments expected, got: $*"

JDK="$("$ROOT/jvllm" --print-java-home)" || exit 1
export JAVA_HOME="$JDK"
command -v mvn >/dev/null 2>&1 || die "Maven (mvn) not found on PATH"
case " ${MAVEN_OPTS:-} " in  # quiet Maven 3.8's Guava Unsafe warning on JDK 24+
    *sun-misc-unsafe-memory-access*) ;;
    *) export MAVEN_OPTS="${MAVEN_OPTS:+$MAVEN_OPTS }--sun-misc-unsafe-memory-access=allow" ;;
esac
cd "$ROOT"

# Module directories, from the parent pom's <modules>.
# benchmarks/ is left out: its JMH and Jlama jars are CPU-side tools and would not fit the carry limit.
mapfile -t MODULES < <(sed -n 's:.*<module>\(.*\)</module>.*:\1:p' pom.xml | grep -vx benchmarks)
[[ ${#MODULES[@]} -gt 0 ]] || die "no <module> entries in pom.xml"

# JUnit Platform version matching the Jupiter version of the parent pom (5.x.y -> 1.x.y).
JUNIT_JUPITER="$(sed -n 's:.*<junit.version>\(.*\)</junit.version>.*:\1:p' pom.xml | head -n 1)"
if [[ "$JUNIT_JUPITER" == 5.* ]]; then
    JUNIT_PLATFORM="1.${JUNIT_JUPITER#5.}"
else
    JUNIT_PLATFORM="1.14.1"
fi
CONSOLE_JAR="junit-platform-console-standalone-$JUNIT_PLATFORM.jar"

mkdir -p "$G"
rm -rf "$G/lib" "$G/test-classes" "$G"/junit-platform-console-standalone-*.jar
mkdir -p "$G/lib" "$G/test-classes"

# 1. Build (main + test classes) and copy every module's dependencies, all scopes, into .gpu/lib.
#    package and copy-dependencies run in one reactor session so that dev.jvllm artifacts resolve
#    to the jars just built (no install into ~/.m2 needed).
echo "package.sh: building with $JDK (mvn -DskipTests package + copy-dependencies) ..." >&2
mvn -B -q -ntp -DskipTests -pl "$(IFS=,; echo "${MODULES[*]}")" package dependency:copy-dependencies \
    -DincludeScope=test -DoutputDirectory="$G/lib" 1>&2 || die "build failed (see above)"

# 2. Module jars and test classes.
for m in "${MODULES[@]}"; do
    found=false
    for j in "$m"/target/*.jar; do
        [[ -f "$j" ]] || continue
        case "$j" in *-sources.jar | *-javadoc.jar) continue ;; esac
        cp "$j" "$G/lib/"
        found=true
    done
    [[ "$found" == true ]] || die "no jar in $m/target (did the build run?)"
    if [[ -d "$m/target/test-classes" ]] && [[ -n "$(ls -A "$m/target/test-classes")" ]]; then
        mkdir -p "$G/test-classes/$m"
        cp -R "$m/target/test-classes/." "$G/test-classes/$m/"
    fi
done
# The checkout travels with every device call: its fixtures are not carried twice (run-tests.sh links them).
rm -rf "$G/test-classes/models/fixtures"
rm -f "$G"/lib/jazzer-*.jar
# Nor do they render chat templates: jinjava and Guava (4.5 MB) would put .gpu and the checkout
# over the 64 MiB a device call carries now that the kernels' fatbin is 6 MB.
rm -f "$G"/lib/jinjava-*.jar "$G"/lib/guava-*.jar
# One version per artifact on the class path (Maven copies e.g. two Guavas from different scopes): keep the newest.
ls "$G/lib" | sed -n 's/^\(.*\)-\([0-9][^-]*\(-[A-Za-z]*\)\{0,1\}\)\.jar$/\1 \2/p' | sort -k1,1 -k2,2V |
    awk '$1 == prev { print prevjar } { prev = $1; prevjar = $1 "-" $2 ".jar" }' |
    while read -r old; do rm -f "$G/lib/$old"; done

# 3. JUnit console launcher. It bundles the JUnit Platform and Jupiter, so their separate jars
#    leave lib/ (one copy of each class on the class path).
mvn -B -q -ntp -N org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
    -Dartifact="org.junit.platform:junit-platform-console-standalone:$JUNIT_PLATFORM" \
    -DoutputDirectory="$G" 1>&2
[[ -f "$G/$CONSOLE_JAR" ]] || die "could not fetch $CONSOLE_JAR"
rm -f "$G"/lib/junit-jupiter-*.jar "$G"/lib/junit-platform-*.jar "$G"/lib/junit-vintage-*.jar

# 4. The Java runtime, built once per JDK version and module list.
JDK_VERSION="$(sed -n 's/^JAVA_VERSION="\(.*\)"/\1/p' "$JDK/release" | head -n 1)"
JRT_ID="$JDK_VERSION $JRT_MODULES"
# An uncompressed image in xz is half the size of jlink's zip-9 image in gzip (14 vs 28 MB).
rm -f "$G/jrt.tgz"
if [[ ! -f "$G/jrt.txz" || "$(cat "$G/jrt.id" 2>/dev/null || true)" != "$JRT_ID" ]]; then
    echo "package.sh: jlink runtime ($JDK_VERSION), xz (about a minute) ..." >&2
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    "$JDK/bin/jlink" --add-modules "$JRT_MODULES" --strip-debug --no-header-files --no-man-pages \
        --output "$tmp/jrt"
    tar cf - -C "$tmp" jrt | xz -9 -T0 >"$G/jrt.txz.part"
    mv "$G/jrt.txz.part" "$G/jrt.txz"
    printf '%s\n' "$JRT_ID" >"$G/jrt.id"
    rm -rf "$tmp"
    trap - EXIT
else
    echo "package.sh: jrt.txz is current ($JDK_VERSION), kept" >&2
fi

bytes="$(du -sb "$G" | cut -f1)"
mib=$(((bytes + 1048575) / 1048576))
echo "package.sh: .gpu/ is $mib MiB ($(ls "$G/lib" | wc -l) jars in lib/, test classes of: $(ls "$G/test-classes" | tr '\n' ' '))"
du -sh "$G/jrt.txz" "$G/lib" "$G/test-classes" "$G/$CONSOLE_JAR" | sed 's/^/  /'
if ((bytes > MAX_MIB * 1048576)); then
    die ".gpu/ is $mib MiB, over $MAX_MIB MiB: with the ~30 MiB checkout it would not fit the 64 MiB a device call carries"
fi
echo "next: run with carry [\".gpu\"] and command: bash tools/gpu/run-tests.sh [--include-classname '.*Cuda.*']"
