#!/usr/bin/env bash
# The tested Python / torch / mmcv version matrix (README, "Tested versions"): for each
# Python and torch version, set up a separate venv with tools/setup_env.sh (torch, its
# torchvision, mmcv 2.1.0 built against it, the stack, this package), run the test suite
# with that venv's python, and print one Markdown table row.
#
#   bash tools/compat_matrix.sh [[PYTHON/]TORCH[:TORCHVISION] ...]
#   default: 2.1.2 2.14.1 2.15.0 3.12/2.14.1   (PYTHON defaults to 3.11)
#
# Each entry gets `.venv-py<python>-torch<torch>` in the repository (git-ignored), made
# with `python<PYTHON>` from PATH; an entry whose Python and torch are those of `.venv`
# reuses `.venv`. A first run builds mmcv once per torch and Python (about 12 min each on
# 2 cores); setup_env.sh keeps the wheels, so a rerun only runs the tests. Logs and the
# table: work_dirs/compat_matrix/. Exits non-zero if any entry failed to set up or had a
# failing test.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$repo/work_dirs/compat_matrix"
mkdir -p "$out"
table="$out/table.md"
[ $# -gt 0 ] || set -- 2.1.2 2.14.1 2.15.0 3.12/2.14.1
default_python=3.11

# The torchvision release built for a torch release (torchvision 0.29.2 declares
# torch >= 2.14 and links torch's stable ABI; no 0.30 exists for torch 2.15).
torchvision_for() {
  case "$1" in
    2.1.2) echo 0.16.2 ;;
    2.14.1) echo 0.29.1 ;;
    2.15.0) echo 0.29.2 ;;
    *) echo "[compat_matrix] no torchvision known for torch $1: pass it as $1:<torchvision>" >&2
       return 1 ;;
  esac
}

version_lt() { [ "$1" != "$2" ] && [ "$(printf '%s\n' "$1" "$2" | sort -V | head -n 1)" = "$1" ]; }

# Requirements a torch release needs beyond its own: wheels before torch 2.4 are built
# against numpy 1.x and fail with numpy 2.
extra_pins_for() { if version_lt "$1" 2.4; then echo 'numpy<2'; fi; }

# The venv of Python $1 with torch $2: `.venv` when it has both.
venv_for() {
  local installed
  installed="$("$repo/.venv/bin/python" -c 'import sys, torch; print(f"{sys.version_info[0]}.{sys.version_info[1]}", torch.__version__.split("+")[0])' 2>/dev/null || true)"
  if [ "$installed" = "$1 $2" ]; then echo "$repo/.venv"; else echo "$repo/.venv-py$1-torch$2"; fi
}

minutes() { printf '%d min %02d s' $(($1 / 60)) $(($1 % 60)); }

header="| Python | torch | torchvision | mmcv | numpy | tests passed / failed / skipped | test wall time |"
{
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) CPU cores ($(uname -m)):"
  echo
  echo "$header"
  echo "|---|---|---|---|---|---|---|"
} | tee "$table"

status=0
for spec in "$@"; do
  python_version="$default_python"
  if [ "${spec#*/}" != "$spec" ]; then
    python_version="${spec%%/*}"
    spec="${spec#*/}"
  fi
  torch_version="${spec%%:*}"
  if [ "$spec" != "$torch_version" ]; then
    torchvision_version="${spec#*:}"
  else
    torchvision_version="$(torchvision_for "$torch_version")" || { status=1; continue; }
  fi
  venv="$(venv_for "$python_version" "$torch_version")"
  log="$out/py$python_version-torch$torch_version"
  start=$SECONDS
  if ! python="$(command -v "python$python_version")"; then
    echo "| $python_version | $torch_version | $torchvision_version | - | - | no python$python_version on PATH | - |" | tee -a "$table"
    status=1
    continue
  fi
  if ! RELKD_PYTHON="$python" RELKD_VENV="$venv" RELKD_TORCH_VERSION="$torch_version" \
      RELKD_TORCHVISION_VERSION="$torchvision_version" \
      RELKD_EXTRA_PINS="$(extra_pins_for "$torch_version")" \
      bash "$repo/tools/setup_env.sh" >"$log-setup.log" 2>&1; then
    echo "| $python_version | $torch_version | $torchvision_version | - | - | setup failed: $log-setup.log | - |" | tee -a "$table"
    status=1
    continue
  fi
  echo "[compat_matrix] Python $python_version, torch $torch_version: $venv ready in $(minutes $((SECONDS - start)))" >&2
  start=$SECONDS
  (cd "$repo" && "$venv/bin/python" -m pytest tests -p no:cacheprovider \
    --junitxml="$log-tests.xml" >"$log-tests.log" 2>&1) || status=1
  wall=$((SECONDS - start))
  row="$("$venv/bin/python" - "$log-tests.xml" <<'PY'
import platform
import sys
import xml.etree.ElementTree as ET

import mmcv
import numpy
import torch
import torchvision

root = ET.parse(sys.argv[1]).getroot()
suite = root if root.tag == 'testsuite' else root.find('testsuite')
tests, failures, errors, skipped = (int(suite.get(key, 0))
                                    for key in ('tests', 'failures', 'errors', 'skipped'))
print(f'| {platform.python_version()} | {torch.__version__} | {torchvision.__version__} '
      f'| {mmcv.__version__} | {numpy.__version__} | {tests - failures - errors - skipped} / '
      f'{failures + errors} / {skipped} |', end='')
PY
)" || { row="| $python_version | $torch_version | $torchvision_version | ? | ? | no test report: $log-tests.log |"; status=1; }
  echo "$row $(minutes "$wall") |" | tee -a "$table"
done
echo "[compat_matrix] table: $table; logs: $out/py<python>-torch<torch>-{setup,tests}.log" >&2
exit "$status"
