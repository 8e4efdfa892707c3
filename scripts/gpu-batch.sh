#!/usr/bin/env bash
# Everything the gpu budget produces, in one batch — what `make gpu` and the GPU workflow run.
#
#   1. every registered chapter experiment, through the results cache   (no Jupyter needed)
#   2. every benchmark, on the GPU                                       (no Jupyter needed)
#   3. `make book` at the budget: every chapter executed into book/, then the HTML book
#      (skipped with --no-book)
#
# Steps 1 and 2 write results/<budget>/... with provenance; step 3 then only reads them, so the
# book can also be rendered on another machine from a copy of results/ (`make book BUDGET=gpu`).
#
# usage: scripts/gpu-batch.sh [--no-book] [--budget gpu|paper] [--python PYTHON]
#   --no-book   stop after steps 1 and 2: for a bare GPU machine with torch, torchvision, numpy
#               and pandas but no Jupyter (point $CNNPAPERS_FASHION_MNIST at the Fashion-MNIST
#               IDX files if Debian's dataset-fashion-mnist is not installed there)
#   --budget    default gpu
#   --python    interpreter for steps 1 and 2 (default: .venv/bin/python if it exists, else python3)
set -euo pipefail
cd "$(dirname "$0")/.."

budget=gpu book=1 python=""
while [ $# -gt 0 ]; do
  case $1 in
    --no-book) book=0 ;;
    --budget) budget=${2:?--budget needs a value}; shift ;;
    --python) python=${2:?--python needs a value}; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu-batch: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ -z "$python" ]; then
  if [ -x .venv/bin/python ]; then python=.venv/bin/python; else python=python3; fi
fi

step() { echo "[gpu-batch $(date -u +%H:%M:%S)] $*"; }

"$python" - <<'PY'
import sys
import torch
if not torch.cuda.is_available():
    sys.exit("gpu-batch: torch sees no CUDA GPU; the gpu budget's results must be measured on one")
print(f"gpu-batch: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
PY

step "1/3 chapter experiments at budget $budget"
"$python" -m cnnpapers experiments run --budget "$budget"
step "2/3 benchmarks on cuda at budget $budget"
"$python" -m cnnpapers bench all --device cuda --budget "$budget"
if [ "$book" = 1 ]; then
  step "3/3 chapters and the HTML book at budget $budget"
  make book BUDGET="$budget"
  step "book: _build/html/index.html; results: results/$budget/"
else
  step "done (--no-book): copy results/$budget/ to a machine with the book tools and run make book BUDGET=$budget"
fi
