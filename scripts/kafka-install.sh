#!/usr/bin/env bash
# Installs the Apache Kafka broker jars listed in kafka/pom.xml into .kafka/libs (gitignored), so tests and
# developers can run a real KRaft broker without Docker. Idempotent: does nothing when the jars of the pinned
# version are already there. Concurrent callers (parallel test workers) wait on one lock.
# Needs Java 17+ and Maven 3.8+ on PATH.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pom="$repo/kafka/pom.xml"
libs="$repo/.kafka/libs"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")"
marker="$libs/kafka_2.13-$version.jar"

if [[ -f "$marker" ]]; then
  exit 0
fi
for tool in java mvn; do
  command -v "$tool" >/dev/null || { echo "kafka-install: $tool is not on PATH (need Java 17+ and Maven 3.8+)" >&2; exit 1; }
done

mkdir -p "$repo/.kafka"
exec 9>"$repo/.kafka/install.lock"
flock 9
# Another caller may have finished the install while we waited for the lock.
if [[ -f "$marker" ]]; then
  exit 0
fi

staging="$(mktemp -d "$repo/.kafka/libs.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
echo "kafka-install: resolving kafka $version and its dependencies with maven" >&2
if ! mvn -q -B -f "$pom" dependency:copy-dependencies -DoutputDirectory="$staging" >"$staging.log" 2>&1; then
  echo "kafka-install: maven failed:" >&2
  cat "$staging.log" >&2
  rm -f "$staging.log"
  exit 1
fi
rm -f "$staging.log"
# Swap in the complete set at once so nobody runs the broker from a half-copied folder.
rm -rf "$libs"
mv "$staging" "$libs"
trap - EXIT
echo "kafka-install: $(find "$libs" -name '*.jar' | wc -l) jars in $libs" >&2
