#!/usr/bin/env bash
# The GPU check: at most 8 minutes on one H100/H200, unattended, with nothing but the GPU image's own
# packages (no package index there, no pip install: torch, triton, numpy, pytest, xarray are enough).
#
#   benchmarks/gpu_check.sh [DEST]            # on a CUDA machine; results in DEST (default $OUT, else ./gpu_check_results)
#   benchmarks/gpu_check.sh --dry-run [DEST]  # on CPU: every step at tiny sizes (tests/benchmarks runs this in CI,
#                                             # with a Python that sees only the GPU image's packages)
#
# Steps, each under its own time limit (a step over its limit or failing is recorded and the next one runs):
#   env      nvidia-smi, Python, torch, triton, the GPU's name, and whether signalkit imports
#   pytest   the CUDA kernel tests: pytest -m gpu tests/kernels (the Triton kernels vs their references),
#            without tests/conftest.py (its fixtures need mne and zarr, which the image lacks)
#   kernels  benchmarks/kernels.py: Triton vs cuDNN depthwise conv1d, torch.fft convolution and the PyTorch
#            scan, with the memory-bandwidth floor (bf16, forward and forward+backward), row by row
#   steps    benchmarks/gpu_steps.py: training-step time of the default EEG, weather and video models and
#            EEGNet (braindecode's when installed, else benchmarks/eegnet.py) on the same GPU, fp32 and bf16
# Writes 7 files (the device tool brings back at most 8): DEST/summary.md (status and seconds per step),
# DEST/{env,pytest,kernels,steps}.md (each step's stdout), DEST/steps.json, DEST/stderr.log (every step's
# stderr, in order). Exit code: 0 when every step passed, 1 otherwise (what the steps wrote is kept).
#
# Python: $PYTHON, else .venv/bin/python, else python3. signalkit is imported from this checkout through
# a tree of symbolic links in a temporary folder (signalkit/ plus datamodules/, tasks/, kernels/ and
# configs/ as its subpackages, as pyproject.toml maps them), so nothing is installed. Wheels in ./.whl,
# when that folder exists (carried by the device tool), are unpacked to a temporary folder first
# (e.g. braindecode, for the peer's own EEGNet).
set -u -o pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd -P)

DRY=0
if [ "${1:-}" = "--dry-run" ]; then DRY=1; shift; fi
DEST=${1:-${OUT:-gpu_check_results}}
mkdir -p "$DEST"
DEST=$(cd "$DEST" && pwd)
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=$ROOT/.venv/bin/python; else PY=python3; fi
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# signalkit from this checkout, no install: $WORK/src/signalkit holds links to signalkit/* and the mapped
# folders; benchmarks/, tests/ and pyproject.toml are linked beside it, and every step runs in $WORK/src
# (run in the checkout, the plain signalkit/ folder there would shadow the tree: it lacks the subpackages)
mkdir -p "$WORK/src/signalkit"
for entry in "$ROOT"/signalkit/*; do ln -s "$entry" "$WORK/src/signalkit/"; done
for sub in datamodules tasks kernels configs; do ln -s "$ROOT/$sub" "$WORK/src/signalkit/$sub"; done
for top in benchmarks tests pyproject.toml; do ln -s "$ROOT/$top" "$WORK/src/$top"; done
export PYTHONPATH="$WORK/src${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore PYTHONDONTWRITEBYTECODE=1
if [ "$DRY" = 1 ]; then
  export TRITON_INTERPRET=1 CUDA_VISIBLE_DEVICES=""
else
  export TRITON_INTERPRET=0  # compiled kernels (tests/conftest.py would otherwise default to the interpreter)
fi
BUDGET=${GPU_CHECK_BUDGET_S:-470}  # the whole check ends within 8 minutes, start-up included
[ "$DRY" = 1 ] && BUDGET=${GPU_CHECK_BUDGET_S:-1500}  # the dry run is bound by the CPU, not by a lease
T0=$(date +%s)
SUMMARY=$DEST/summary.md
ERR=$DEST/stderr.log
: > "$ERR"
FAILED=0
{
  echo "# GPU check ($([ "$DRY" = 1 ] && echo 'CPU dry run: tiny sizes, not a measurement' || echo 'CUDA'))"
  echo
  echo "Started $(date -u '+%Y-%m-%d %H:%M UTC') on $ROOT (through $WORK/src) with $PY."
  echo
  echo "| step | status | seconds | limit s |"
  echo "|---|---|---|---|"
} > "$SUMMARY"

# step NAME LIMIT_S CMD...: run CMD with a time limit (trimmed to the budget left), record its status.
step() {
  local name=$1 limit=$2; shift 2
  local left=$(( BUDGET - ($(date +%s) - T0) ))
  if [ "$left" -lt 15 ]; then
    echo "| $name | skipped (time budget spent) | 0 | $limit |" >> "$SUMMARY"; FAILED=1; return
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  local start rc status
  start=$(date +%s)
  echo "[gpu_check] $name (limit ${limit} s)" >&2
  echo "===== $name: $*" >> "$ERR"
  timeout -k 5 "$limit" "$@" > "$DEST/$name.md" 2>> "$ERR"
  rc=$?
  case $rc in
    0) status=ok ;;
    124|137) status="timed out (partial output kept)"; FAILED=1 ;;
    *) status="failed (exit $rc)"; FAILED=1 ;;
  esac
  echo "| $name | $status | $(( $(date +%s) - start )) | $limit |" >> "$SUMMARY"
  echo "[gpu_check]   $status" >&2
}

# --- wheels carried along (optional), then the environment
echo "===== env" >> "$ERR"
pkgs=$(ls "$ROOT"/.whl/*.whl 2>/dev/null)
if [ -n "$pkgs" ]; then  # a wheel is a zip: unpacked, it is importable (pure-Python ones and those built for this Python)
  "$PY" -c "import sys, zipfile; [zipfile.ZipFile(w).extractall(sys.argv[1]) for w in sys.argv[2:]]" \
    "$WORK/site" $pkgs >> "$ERR" 2>&1 && export PYTHONPATH="$PYTHONPATH:$WORK/site"
fi
cd "$WORK/src"
{
  nvidia-smi -L 2>/dev/null || echo "nvidia-smi: not available"
  "$PY" - <<'EOF'
import importlib.util
import platform

import torch

print("python", platform.python_version(), "| torch", torch.__version__, "| cuda", torch.version.cuda,
      "| cuda available", torch.cuda.is_available())
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print("device", torch.cuda.get_device_name(0), "|", p.multi_processor_count, "SMs |",
          round(p.total_memory / 2**30), "GiB")
try:
    import triton
    print("triton", triton.__version__)
except ImportError:
    print("triton: not importable")
print("absent here:", ", ".join(m for m in ("hydra", "omegaconf", "mne", "zarr", "dask", "braindecode")
                                if importlib.util.find_spec(m) is None) or "none of hydra, omegaconf, mne, zarr, dask, braindecode")
import signalkit.kernels
import signalkit.models

print("signalkit importable from", signalkit.__path__[0])
EOF
} > "$DEST/env.md" 2>> "$ERR"
echo "| env | $(grep -q '^signalkit importable' "$DEST/env.md" && echo ok || echo 'signalkit not importable (see stderr.log)') | $(( $(date +%s) - T0 )) | - |" >> "$SUMMARY"
grep -q '^signalkit importable' "$DEST/env.md" || FAILED=1

# --- the steps (the same commands in both modes; the dry run shrinks sizes and passes)
PYTEST=("$PY" -m pytest -q -m gpu -p no:cacheprovider --noconftest -rs tests/kernels)
if [ "$DRY" = 1 ]; then
  step pytest 400 "${PYTEST[@]}"
  step kernels 400 "$PY" benchmarks/kernels.py --dry-run --fwd-only
  step steps 400 "$PY" -m benchmarks.gpu_steps --dry-run --json "$DEST/steps.json"
else
  step pytest 150 "${PYTEST[@]}" -x
  step kernels 170 "$PY" benchmarks/kernels.py --dtype bfloat16
  step steps 110 "$PY" -m benchmarks.gpu_steps --json "$DEST/steps.json"
fi

echo >> "$SUMMARY"
echo "Total $(( $(date +%s) - T0 )) s (budget $BUDGET s)." >> "$SUMMARY"
cat "$SUMMARY" >&2
exit $FAILED
