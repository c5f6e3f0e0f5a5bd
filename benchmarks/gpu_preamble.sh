# Shared start of the prepared GPU scripts (sourced, not run): finds the Python,
# picks OUT_DIR from the script's first argument, else $OUT, else $DEFAULT_OUT; exits 0
# with "skipped" when this machine has no CUDA; records the card's name.
#   DEFAULT_OUT=outputs/<name>; source benchmarks/gpu_preamble.sh
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python
OUT_DIR=${1:-${OUT:-$DEFAULT_OUT}}
if ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  echo "skipped: no CUDA device on this machine"
  exit 0
fi
mkdir -p "$OUT_DIR"
"$PY" -c 'import torch; print("GPU:", torch.cuda.get_device_name(0), "| torch", torch.__version__)' \
  | tee "$OUT_DIR/gpu.txt"
