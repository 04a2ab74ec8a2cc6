#!/usr/bin/env bash
# Builds the image and runs packaging/docker/compose.yaml end to end: a job submitted to the
# server over TCP runs on a worker node. Run by .ci/run only where a docker daemon answers.
set -euo pipefail
cd "$(dirname "$0")"
compose=(docker compose -f compose.yaml)
head -c 32 /dev/urandom | base64 > node.token
trap '"${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true; rm -f node.token' EXIT
"${compose[@]}" up -d --build --wait
token=$("${compose[@]}" exec -T server jobo token create --user ci)
job=$(mktemp -d)
printf 'echo "ran on $(hostname)"\n' > "$job/run.sh"
out=$(JOBO_HOST=http://127.0.0.1:5000 JOBO_TOKEN="$token" ../../target/release/jobo run "$job" --service example -o "$job/out")
echo "$out"
grep -q 'ran on' <<<"$out"
echo "docker compose: ok"
