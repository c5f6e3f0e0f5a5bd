#!/usr/bin/env bash
# Supernet training on a CUDA GPU in bf16, about twenty minutes: steady-state tokens/s of
# `llmpp supernet` on the synthetic task at hat_mini's widths and at hat_space0's (the
# paper's; with the synthetic task's 1,000-piece vocabulary its embeddings and softmax
# are cheaper than WMT's 32k: an upper bound for gpu_ranking.sh's supernets) at 4,096-
# and 32,768-token batches, HAT's and the MoS kinds; then the supernet-vs-standalone
# training-step ratio and inherited-weight evaluations/s.
# Skips cleanly (exit 0, "skipped") when this machine has no CUDA.
#   bash benchmarks/gpu_supernet.sh [OUT_DIR]     (default: $OUT, else outputs/gpu_supernet)
set -euo pipefail
cd "$(dirname "$0")/.."
DEFAULT_OUT=outputs/gpu_supernet
# shellcheck source=benchmarks/gpu_preamble.sh
source benchmarks/gpu_preamble.sh
train() {  # name, steps, tokens, overrides... -> prints the wall seconds of the whole command
  local name=$1 steps=$2 tokens=$3; shift 3
  local start end
  start=$(date +%s.%N)
  timeout 300 "$PY" -m llmpp.cli supernet "trainer.max_steps=$steps" \
    "trainer.val_check_interval=$steps" trainer.precision=bf16-mixed logger=csv \
    eval_bleu_limit=20 "~callbacks.progress" "data.max_tokens=$tokens" \
    "hydra.run.dir=$OUT_DIR/$name-$steps-$tokens" "$@" \
    > "$OUT_DIR/$name-$steps-$tokens.log" 2>&1
  end=$(date +%s.%N)
  "$PY" -c "print($end - $start)"
}
# Steady-state speed: the difference of a short and a long run of the same settings
# cancels start-up, data loading, the final validation and BLEU.
for spec in "hat_mini 2048 space=hat_mini" "hat_space0 4096 space=hat_space0" \
            "hat_space0 32768 space=hat_space0" \
            "hat_space0_layer_mos 4096 space=hat_space0 model=layer_mos" \
            "hat_space0_neuron_mos 4096 space=hat_space0 model=neuron_mos"; do
  read -r name tokens overrides <<< "$spec"
  # shellcheck disable=SC2086  # the overrides are separate words
  short=$(train "$name" 50 "$tokens" $overrides)
  # shellcheck disable=SC2086
  long=$(train "$name" 550 "$tokens" $overrides)
  "$PY" - "$name" "$tokens" "$short" "$long" <<'PYEOF' | tee -a "$OUT_DIR/gpu.txt"
import sys
name, tokens, short, long = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
per_step = (long - short) / 500
print(f"supernet bf16 {name}, batches of {tokens} target tokens: 50 steps {short:.1f} s, "
      f"550 steps {long:.1f} s (whole commands) -> {1000 * per_step:.1f} ms a step, "
      f"{tokens / per_step:.0f} target tokens/s")
PYEOF
done
for spec in "hat_mini 2048" "hat_space0 4096"; do
  read -r space tokens <<< "$spec"
  echo "== supernet_step_time.py --space $space --max-tokens $tokens" | tee -a "$OUT_DIR/gpu.txt"
  timeout 200 "$PY" benchmarks/supernet_step_time.py --device cuda --archs 3 --repeats 5 \
    --space "$space" --max-tokens "$tokens" 2>&1 | tee -a "$OUT_DIR/gpu.txt"
done
