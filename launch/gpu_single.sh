#!/usr/bin/env bash
# Single GPU host: install once with the CUDA extra, then run a decompjax command.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/decompjax ]; then
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e ".[cuda]"
fi
exec .venv/bin/decompjax "$@"
