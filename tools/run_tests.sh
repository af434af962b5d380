#!/usr/bin/env bash
# README command 2: set up .venv (idempotent) and run the test suite.
#   bash tools/run_tests.sh [pytest args...]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$repo/tools/setup_env.sh"
cd "$repo"
exec .venv/bin/python -m pytest tests "$@"
