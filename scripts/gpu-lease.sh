#!/usr/bin/env bash
# The gpu budget's results in priority order, for a GPU lent for minutes rather than hours.
#
# scripts/gpu-batch.sh produces *every* gpu-budget result (hours on one GPU). On a short lease
# this script runs the STEPs named (default: all, in this order) until --deadline seconds have
# passed since it started. Seconds are as measured on an H100 80GB HBM3 (2026-11-25):
#
#   pre-flight           CUDA, imports, one smoke training step on the GPU (~30 s); on failure
#                        the script stops at once, so a broken environment costs seconds
#   train-speed          our loop vs a plain eager fp32 loop, default fast path (~65 s)
#   densenet-memory      naive vs memory-efficient DenseNet-BC-100: CUDA peak, step time (~25 s)
#   vs-torchvision       ours vs torchvision DenseNet-121 at 224, batch 64 (~30 s)
#   train-speed-graphs   the same with torch.compile + CUDA graphs (~185 s, compiling included)
#   reference-run        DenseNet-BC-100 k=12 on all 60,000 Fashion-MNIST images at the gpu
#                        budget (8 epochs) with CUDA graphs: the engine's reference result (an
#                        eager run trains ~980 images/s there, over 8 minutes)
#   parity               plain vs default fast path vs plain with the next seed, each 2 epochs
#                        of 20,000 images (estimated ~3 min; not yet timed)
#   parity-graphs        the same with torch.compile + CUDA graphs as the fast path (estimated
#                        ~4 min, compiling included; not yet timed)
#   experiments          every registered gpu experiment not stored yet, until the deadline
#
# A step is killed when the deadline comes; finished results are already stored. After every
# step results/gpu/ is packed into OUT/results-gpu.tgz (the log is OUT/lease.log), so what was
# done comes back even if the machine is taken away. Unpack it in the checkout
# (`tar xzf results-gpu.tgz`) and commit results/gpu/.
#
# On a machine without the dataset package, first run `scripts/gpu-lease.sh --stage` here: it
# copies the Fashion-MNIST IDX files into .carry/fashion-mnist/ (ignored by git), for the device
# tool to carry; the script then finds them there.
#
# usage: scripts/gpu-lease.sh [--deadline SECONDS] [--out DIR] [--python PYTHON] [STEP...]
#        scripts/gpu-lease.sh --stage
#   --deadline  seconds from start after which no step runs on (default 540)
#   --out       folder for results-gpu.tgz and lease.log (default .)
#   --python    interpreter (default python3)
#   $CNNPAPERS_COMMIT names the commit of a copied tree (see cnnpapers/provenance.py)
set -uo pipefail
cd "$(dirname "$0")/.."

ALL_STEPS="train-speed densenet-memory vs-torchvision train-speed-graphs reference-run parity parity-graphs experiments"
deadline=540 out=. python=python3 steps=""
while [ $# -gt 0 ]; do
  case $1 in
    --stage)
      src=${CNNPAPERS_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
      mkdir -p .carry/fashion-mnist && cp "$src"/*-ubyte.gz .carry/fashion-mnist/ || exit
      echo "staged $(ls .carry/fashion-mnist | wc -l) files in .carry/fashion-mnist: carry .carry"
      exit 0 ;;
    --deadline) deadline=${2:?--deadline needs seconds}; shift ;;
    --out) out=${2:?--out needs a folder}; shift ;;
    --python) python=${2:?--python needs a value}; shift ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "gpu-lease: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) case " $ALL_STEPS " in
         *" $1 "*) steps="$steps $1" ;;
         *) echo "gpu-lease: unknown step $1; steps: $ALL_STEPS" >&2; exit 2 ;;
       esac ;;
  esac
  shift
done
if [ -d .carry/fashion-mnist ]; then export CNNPAPERS_FASHION_MNIST=$PWD/.carry/fashion-mnist; fi
export PYTHONUNBUFFERED=1
mkdir -p "$out"
log=$out/lease.log
start=$SECONDS

pack() { [ -d results/gpu ] && tar czf "$out/results-gpu.tgz" results/gpu; }

# step NAME ARGS...: run `python -m cnnpapers ARGS` with what is left of the deadline
step() {
  local name=$1 left=$((deadline - (SECONDS - start)))
  shift
  if [ "$left" -le 10 ]; then echo "[gpu-lease] skipped $name: deadline reached" | tee -a "$log"; return; fi
  echo "[gpu-lease +$((SECONDS - start))s] $name (at most ${left}s)" | tee -a "$log"
  timeout --signal=TERM --kill-after=10 "$left" "$python" -m cnnpapers "$@" 2>&1 | tee -a "$log"
  echo "[gpu-lease +$((SECONDS - start))s] $name: exit ${PIPESTATUS[0]}" | tee -a "$log"
  pack
}

echo "[gpu-lease] pre-flight" | tee "$log"
"$python" - 2>&1 <<'PY' | tee -a "$log"
import sys
import torch, torchvision
if not torch.cuda.is_available():
    sys.exit("gpu-lease: torch sees no CUDA GPU")
print(f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}, torchvision "
      f"{torchvision.__version__}")
PY
[ "${PIPESTATUS[0]}" = 0 ] || exit 3
step "pre-flight: one smoke step on the GPU" train --model densenet_bc_100_k12 \
  --dataset fashion-mnist --budget smoke --device cuda --no-progress
grep -q "pre-flight: one smoke step on the GPU: exit 0" "$log" || exit 3

for name in ${steps:-$ALL_STEPS}; do
  case $name in
    train-speed) step "$name" bench train-speed --device cuda --budget gpu ;;
    densenet-memory) step "$name" bench densenet-memory --device cuda --budget gpu ;;
    vs-torchvision) step "$name" bench vs-torchvision --device cuda --budget gpu ;;
    train-speed-graphs) step "$name" bench train-speed --device cuda --budget gpu --cuda-graphs ;;
    reference-run) step "$name" train --model densenet_bc_100_k12 --dataset fashion-mnist \
      --budget gpu --device cuda --cuda-graphs --no-progress ;;
    parity) step "$name" bench fast-path-parity --device cuda --budget gpu ;;
    parity-graphs) step "$name" bench fast-path-parity --device cuda --budget gpu --cuda-graphs ;;
    experiments) step "$name" experiments run --budget gpu --no-progress ;;
  esac
done
echo "[gpu-lease +$((SECONDS - start))s] done; results in $out/results-gpu.tgz" | tee -a "$log"
pack || echo "[gpu-lease] no gpu result was stored"
