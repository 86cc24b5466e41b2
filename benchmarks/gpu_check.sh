#!/usr/bin/env bash
# The GPU check: at most 8 minutes on one H100/H200, unattended.
#
#   benchmarks/gpu_check.sh [DEST]            # on a CUDA machine; results in DEST (default $OUT, else ./gpu_check_results)
#   benchmarks/gpu_check.sh --dry-run [DEST]  # on CPU: every step at tiny sizes (tests/benchmarks runs this in CI)
#
# Steps, each under its own time limit (a step over its limit or failing is recorded and the next one runs):
#   env      nvidia-smi, Python, torch, triton, the GPU's name
#   pytest   the CUDA kernel tests: pytest -m gpu tests/kernels (the Triton kernels vs their references)
#   kernels  benchmarks/kernels.py: Triton vs cuDNN depthwise conv1d, torch.fft convolution and the PyTorch
#            scan, with the memory-bandwidth floor (bf16, forward and forward+backward)
#   steps    benchmarks/gpu_steps.py: training-step time of the default EEG, weather and video models and
#            braindecode's EEGNet (when importable) on the same GPU, fp32 and bf16 autocast
# Writes DEST/<step>.md (stdout), DEST/<step>.err (stderr) and DEST/summary.md (status and seconds per step).
# Exit code: 0 when every step passed, 1 otherwise (the results of the steps that ran are kept).
#
# Python: $PYTHON, else .venv/bin/python, else python3. When signalkit is not importable there (a bare GPU
# image), it is installed from this checkout with `pip install --no-deps --no-build-isolation -e .`;
# pure-Python dependencies the image lacks (hydra-core, omegaconf, antlr4-python3-runtime, ...) are installed
# from wheels in ./.whl when that folder exists (see benchmarks/RECORDED.md, "GPU check").
set -u -o pipefail
cd "$(dirname "$0")/.."

DRY=0
if [ "${1:-}" = "--dry-run" ]; then DRY=1; shift; fi
DEST=${1:-${OUT:-gpu_check_results}}
mkdir -p "$DEST"
DEST=$(cd "$DEST" && pwd)
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
export PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if [ "$DRY" = 1 ]; then export TRITON_INTERPRET=1 CUDA_VISIBLE_DEVICES=""; fi
BUDGET=${GPU_CHECK_BUDGET_S:-470}  # the whole check ends within 8 minutes, start-up included
[ "$DRY" = 1 ] && BUDGET=${GPU_CHECK_BUDGET_S:-1500}  # the dry run is bound by the CPU, not by a lease
T0=$(date +%s)
SUMMARY=$DEST/summary.md
FAILED=0
{
  echo "# GPU check ($([ "$DRY" = 1 ] && echo 'CPU dry run: tiny sizes, not a measurement' || echo 'CUDA'))"
  echo
  echo "Started $(date -u '+%Y-%m-%d %H:%M UTC') in $PWD with $PY."
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
  timeout -k 5 "$limit" "$@" > "$DEST/$name.md" 2> "$DEST/$name.err"
  rc=$?
  case $rc in
    0) status=ok ;;
    124|137) status="timed out (partial output kept)"; FAILED=1 ;;
    *) status="failed (exit $rc)"; FAILED=1 ;;
  esac
  echo "| $name | $status | $(( $(date +%s) - start )) | $limit |" >> "$SUMMARY"
  echo "[gpu_check]   $status" >&2
}

# --- environment and, on a bare image, signalkit itself
{
  nvidia-smi -L 2>/dev/null || echo "nvidia-smi: not available"
  "$PY" - <<'EOF'
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
EOF
} > "$DEST/env.md" 2> "$DEST/env.err"
if ! "$PY" -c "import signalkit.kernels, signalkit.models" 2>/dev/null; then
  pkgs=$(ls .whl/*.whl .whl/*.tar.gz 2>/dev/null)
  if [ -n "$pkgs" ]; then  # wheels (and sdists such as antlr4-python3-runtime's) carried to a machine without an index
    "$PY" -m pip install -q --no-index --no-deps --no-build-isolation --no-compile --target /tmp/gpu_check_site \
      $pkgs >> "$DEST/env.err" 2>&1 && export PYTHONPATH="$PYTHONPATH:/tmp/gpu_check_site"
  fi
  "$PY" -m pip install -q --no-deps --no-build-isolation -e . >> "$DEST/env.err" 2>&1 \
    || echo "signalkit: pip install -e . failed (see env.err)" >> "$DEST/env.md"
fi
"$PY" -c "import signalkit.kernels, signalkit.models; print('signalkit importable')" >> "$DEST/env.md" 2>> "$DEST/env.err" \
  || echo "signalkit: NOT importable (see env.err); the steps below will fail" >> "$DEST/env.md"
echo "| env | $(grep -q 'signalkit importable' "$DEST/env.md" && echo ok || echo 'signalkit not importable') | $(( $(date +%s) - T0 )) | - |" >> "$SUMMARY"

# --- the steps
if [ "$DRY" = 1 ]; then
  step pytest 400 "$PY" -m pytest -q -m gpu -p no:cacheprovider tests/kernels
  step kernels 400 "$PY" benchmarks/kernels.py --dry-run --fwd-only
  step steps 400 "$PY" -m benchmarks.gpu_steps --dry-run --json "$DEST/steps.json"
else
  step pytest 150 "$PY" -m pytest -q -m gpu -p no:cacheprovider -x tests/kernels
  step kernels 170 "$PY" benchmarks/kernels.py --dtype bfloat16
  step steps 110 "$PY" -m benchmarks.gpu_steps --json "$DEST/steps.json"
fi

echo >> "$SUMMARY"
echo "Total $(( $(date +%s) - T0 )) s (budget $BUDGET s)." >> "$SUMMARY"
cat "$SUMMARY" >&2
exit $FAILED
