#!/usr/bin/env bash
# The search benchmark on hat_space0 / WMT'14 En-De on one CUDA GPU: HS-NAS (paper
# schedule), hsnas_fast, supernet-only evolution and random search at HAT's budget
# (30 iterations x population 125), seeds 0-3, each search its own process with cold
# predictors, Distill-PP distilled from the supernet's scores, a GFLOPs limit at the
# space's median; then the random-vs-evolution discrimination check and hsnas_fast's
# wall clock and score vs evolution. The GPU counterpart of
# benchmarks/search_discriminate.py on hat_small.
# The supernet: HAT's recipe, the one benchmarks/gpu_ranking.sh trains (its final
# checkpoint is reused when RANKING=<that script's OUT_DIR> holds it; else trained here).
# Needs the WMT'14 En-De corpus binarised for llmpp (`llmpp data task=wmt14_en_de`).
# Skips cleanly (exit 0, "skipped") without CUDA; DRY_RUN=1 prints the commands.
#   bash benchmarks/gpu_search.sh [OUT_DIR]     (default: $OUT, else outputs/gpu_search)
#
# Expected time on one H200 (bf16), per piece:
#   supernet: HAT's 40k updates, as gpu_ranking.sh trains it (its header gives the
#     measured rate: ~89 h at 4096-token batches, the default 32,768 not measured yet);
#     none when reused.
#   labels: 2,000 architectures scored by the supernet on 200 validation pairs, ~0.1 s
#     each: ~4 min.  distill: Distill-PP on them, ~1 min.
#   searches, VALID_LIMIT=1000 validation pairs a supernet score (~0.3 s each; the paper
#     scores all 3,000, ~3x longer): evolution ~1,800 scores ~10 min; HS-NAS (paper
#     schedule) ~5 min; hsnas_fast ~2.5 min; random 3,750 scores ~20 min; a seed ~40 min,
#     4 seeds ~2.5 h. Rescoring the bests on all pairs: ~1 min.
#   retraining the distinct bests from scratch: off (RETRAIN_STEPS=0); HAT's 40k-update
#     recipe costs ~10 h an architecture, so score them with gpu_ranking's protocol instead.
set -euo pipefail
cd "$(dirname "$0")/.."
DEFAULT_OUT=outputs/gpu_search
STEPS=${STEPS:-40000}
VALID_LIMIT=${VALID_LIMIT:-1000}
RETRAIN_STEPS=${RETRAIN_STEPS:-0}
BATCH_TOKENS=${BATCH_TOKENS:-32768}  # an update is 128 x 4096 tokens whatever the batch
if (( BATCH_TOKENS <= 0 || 128 * 4096 % BATCH_TOKENS )); then
  echo "BATCH_TOKENS=$BATCH_TOKENS does not divide an update of 128 x 4096 tokens; use e.g. 4096 or 32768" >&2
  exit 2
fi
if [ "${DRY_RUN:-0}" = 1 ]; then
  OUT_DIR=${1:-${OUT:-$DEFAULT_OUT}}; PY=python
else
  # shellcheck source=benchmarks/gpu_preamble.sh
  source benchmarks/gpu_preamble.sh
fi
SUPERNET=$OUT_DIR/root/supernet
run() {  # command...
  echo "== $*"
  [ "${DRY_RUN:-0}" = 1 ] && return
  echo "== $*" >> "$OUT_DIR/gpu.txt"
  "$@" 2>&1 | tail -40 | tee -a "$OUT_DIR/gpu.txt"
}
if [ -n "${RANKING:-}" ] && [ -f "$RANKING/supernet-hat/checkpoints/last.ckpt" ]; then
  mkdir -p "$OUT_DIR/root"
  [ -e "$SUPERNET" ] || ln -s "$(realpath "$RANKING/supernet-hat")" "$SUPERNET"
else  # HAT's SuperTransformer recipe, as gpu_ranking.sh trains the hat kind
  run "$PY" -m llmpp.cli supernet task=wmt14_en_de space=hat_space0 data=wmt seed=0 \
    logger=csv "~callbacks.progress" trainer.precision=bf16-mixed "trainer.max_steps=$STEPS" \
    model=hat optim=hat optim.schedule=hat_supernet "optim.warmup_steps=$((STEPS / 4))" \
    "data.max_tokens=$BATCH_TOKENS" "trainer.accumulate_grad_batches=$((128 * 4096 / BATCH_TOKENS))" \
    model.dropout=0.3 model.attention_dropout=0.1 model.positions=sliced \
    model.scale_dropout=true model.activation_dropout=0.0 \
    model.scale_encoder_attention_dropout=false model.extreme_arbitrary_ende_attn=1 \
    val_check_interval_updates=2000 "hydra.run.dir=$SUPERNET"
fi
run "$PY" benchmarks/search_discriminate.py --root "$OUT_DIR/root" --space hat_space0 \
  --task wmt14_en_de --valid-limit "$VALID_LIMIT" --labels 2000 --label-limit 200 \
  --retrain-steps "$RETRAIN_STEPS" --plot "$OUT_DIR/search_tradeoff.png" \
  --train-override  # none: HAT's post-norm recipe, not hat_small's CPU one
