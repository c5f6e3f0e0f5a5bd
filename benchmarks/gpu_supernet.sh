#!/usr/bin/env bash
# Supernet training on a CUDA GPU in bf16, a few minutes: tokens/s of `llmpp supernet`
# on the synthetic task and the supernet-vs-standalone training-step ratio.
# Skips cleanly (exit 0, "skipped") when this machine has no CUDA.
#   bash benchmarks/gpu_supernet.sh [OUT_DIR]     (default: $OUT, else outputs/gpu_supernet)
set -euo pipefail
cd "$(dirname "$0")/.."
DEFAULT_OUT=outputs/gpu_supernet
# shellcheck source=benchmarks/gpu_preamble.sh
source benchmarks/gpu_preamble.sh
# 300 steps of bf16 supernet training; tokens/s = steps x max_tokens / wall time of fit.
start=$(date +%s.%N)
timeout 400 "$PY" -m llmpp.cli supernet trainer.max_steps=300 trainer.val_check_interval=300 \
  trainer.precision=bf16-mixed logger=csv eval_bleu_limit=100 \
  "hydra.run.dir=$OUT_DIR/supernet" 2>&1 | tail -3 | tee -a "$OUT_DIR/gpu.txt"
end=$(date +%s.%N)
"$PY" - "$start" "$end" <<'PYEOF' | tee -a "$OUT_DIR/gpu.txt"
import sys
from llmpp.config import compose
cfg = compose("supernet", [])
tokens = 300 * int(cfg.data.max_tokens)
seconds = float(sys.argv[2]) - float(sys.argv[1])
print(f"supernet bf16: {tokens} target tokens in {seconds:.1f} s (incl. start-up and eval)"
      f" = {tokens / seconds:.0f} tokens/s (lower bound)")
PYEOF
timeout 200 "$PY" benchmarks/supernet_step_time.py --device cuda --archs 3 --repeats 5 2>&1 \
  | tee -a "$OUT_DIR/gpu.txt"
