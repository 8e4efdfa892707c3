#!/usr/bin/env bash
# Create the project's virtual environment and install cnnpapers with everything it needs.
# usage: scripts/install-python-env.sh PYTHON VENV KERNEL
set -euo pipefail
python=$1 venv=$2 kernel=$3
"$python" -m venv "$venv"
log=$(mktemp)
# pip here lists every local index it skips ("... is ignored"); keep the log for failures only
if ! "$venv/bin/python" -m pip install -q -e ".[book,test]" >"$log" 2>&1; then
  grep -v "is ignored" "$log" >&2
  exit 1
fi
rm -f "$log"
"$venv/bin/python" - <<'PY'
import torch, torchvision, torchvision.ops  # a real import: the CPU wheel of torch breaks torchvision
print(f"torch {torch.__version__}, torchvision {torchvision.__version__}")
PY
"$venv/bin/python" -m ipykernel install --sys-prefix --name "$kernel" --display-name "cnnpapers (venv)" >/dev/null
