#!/usr/bin/env bash
# README command 1: set up .venv (idempotent) and run the embedded demo: generate the
# synthetic dataset if absent, train (or reuse) the teacher, train the student alone and
# with distillation, and print the comparison table.
#   bash tools/quickstart.sh [run_demo.py args...]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$repo/tools/setup_env.sh"
cd "$repo"
exec .venv/bin/python tools/run_demo.py "$@"
