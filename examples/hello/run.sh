#!/bin/bash
# A minimal jobo job: reads its input, writes a result file next to it.
set -euo pipefail
echo "hello from job ${JOBO_JOB_ID} on $(uname -n)"
wc -l < input.txt > lines.txt
echo "input.txt has $(cat lines.txt) lines" >&2
