#!/usr/bin/env bash
# The GPU check on a device machine (docs/gpu_check.md): the host's python3 runs
# tools/gpu_check/run_check.py on the carried folder .gpu_check/wheels (filled by
# tools/gpu_check/prepare.py), with the table, outcomes and logs in $OUT.
# Extra arguments go to run_check.py (e.g. --deadline-s 300, --only 'train-.*').
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out="${OUT:-work_dirs/gpu_check}"
exec env PYTHONUNBUFFERED=1 "${PYTHON:-python3}" tools/gpu_check/run_check.py --out "$out" "$@"
