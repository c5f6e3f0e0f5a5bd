#!/usr/bin/env bash
# Latency measurement and predictor MAPE on a CUDA GPU, a few minutes.
# Skips cleanly (exit 0, "skipped") when this machine has no CUDA.
#   bash benchmarks/gpu_latency.sh [OUT_DIR]     (default: $OUT, else outputs/gpu_latency)
# Prints the card's name and one table per space; each run dir keeps latency.json/csv.
set -euo pipefail
cd "$(dirname "$0")/.."
DEFAULT_OUT=outputs/gpu_latency
# shellcheck source=benchmarks/gpu_preamble.sh
source benchmarks/gpu_preamble.sh
run() {  # name, overrides...
  local name=$1; shift
  echo "== $name: llmpp latency hardware=cuda $*" | tee -a "$OUT_DIR/gpu.txt"
  timeout 400 "$PY" benchmarks/latency_predictor.py "$OUT_DIR/$name" hardware=cuda \
    progress=false logger=csv "$@" 2>&1 | tee -a "$OUT_DIR/gpu.txt"
}
run hat_mini space=hat_mini task=synthetic_en_de n_archs=150 measure.warmup=3 \
  measure.repeats=7
run hat_space0 space=hat_space0 task=wmt14_en_de n_archs=100 chunk=20 \
  retest=20 measure.warmup=3 measure.repeats=7
