#!/usr/bin/env bash
# Supernet ranking on hat_space0 with the paper's recipe, on one CUDA GPU: HAT vs layer-wise
# vs neuron-wise Mixture-of-Supernets, ranked against the authors' gold set (WMT'14 En-De
# architectures trained from scratch, their released valid BLEU), with tau at three
# checkpoints of each supernet run. The GPU counterpart of
# benchmarks/supernet_ranking_small.py (hat_small, synthetic_en_de, two CPU cores).
# Needs: the WMT'14 En-De corpus binarised for llmpp (`llmpp data task=wmt14_en_de`) and
# the authors' gold data (downloaded on first use, or GOLD=<local copy>).
# Skips cleanly (exit 0, "skipped") when this machine has no CUDA; DRY_RUN=1 prints the
# commands instead of running them (no CUDA needed).
#   bash benchmarks/gpu_ranking.sh [OUT_DIR]     (default: $OUT, else outputs/gpu_ranking)
#
# Expected time on one H200 (bf16), per piece:
#   supernet, each kind: HAT's 40k updates of 128 x 4096 target tokens (21 G tokens).
#     Measured on an H200 (benchmarks/gpu_supernet.sh, docs/BENCHMARKS.md): HAT's
#     supernet at hat_space0's widths trains 4096-token batches at 62.8 ms a step
#     (65k target tokens/s, a few % of the card's bf16 matrix rate at ~0.5 GFLOP a
#     training token), which puts the recipe at ~89 h a kind with HAT's per-GPU batch
#     (BATCH_TOKENS=4096); neuron-wise MoS ran >= 164 ms a step (>= 2.6x). The default
#     packs the same update as 16 batches of 32,768 tokens: not measured yet (larger
#     batches are the first lever at that utilisation; gpu_supernet.sh times both sizes).
#   checkpoints: at 13,333 / 26,666 / 40,000 updates of the same run (no extra time).
#   scoring, each kind and checkpoint: `llmpp benchmark predictor=supernet` on the gold
#     set's 30 architectures, inherited loss on all 3,000 validation pairs: measured
#     49 inherited-weight evaluations/s of 200 short synthetic pairs on the H200, so an
#     estimated ~1 min each (WMT's longer pairs not measured), 9 in all. (The gold set is the authors': nothing is retrained here.
#     The paper's recipe retrains each architecture 40k updates.)
#   STEPS=<updates> scales the supernets linearly (e.g. 4000: a tenth).
set -euo pipefail
cd "$(dirname "$0")/.."
DEFAULT_OUT=outputs/gpu_ranking
STEPS=${STEPS:-40000}
GOLD=${GOLD:+benchmark.root=$GOLD}
# One update = 128 x 4096 target tokens (HAT's 8 GPUs x 16 batches of 4096), whatever
# the batch: BATCH_TOKENS x (128 x 4096 / BATCH_TOKENS) accumulated batches.
BATCH_TOKENS=${BATCH_TOKENS:-32768}
if (( BATCH_TOKENS <= 0 || 128 * 4096 % BATCH_TOKENS )); then
  echo "BATCH_TOKENS=$BATCH_TOKENS does not divide an update of 128 x 4096 tokens; use e.g. 4096 or 32768" >&2
  exit 2
fi
ACCUMULATE=$((128 * 4096 / BATCH_TOKENS))
if [ "${DRY_RUN:-0}" = 1 ]; then
  OUT_DIR=${1:-${OUT:-$DEFAULT_OUT}}
else
  # shellcheck source=benchmarks/gpu_preamble.sh
  source benchmarks/gpu_preamble.sh
fi
EVERY=$((STEPS / 3))
COMMON=(task=wmt14_en_de space=hat_space0 data=wmt seed=0 logger=csv "~callbacks.progress"
        "data.max_tokens=$BATCH_TOKENS" "trainer.accumulate_grad_batches=$ACCUMULATE"
        trainer.precision=bf16-mixed "trainer.max_steps=$STEPS"
        "callbacks.checkpoint.every_n_train_steps=$EVERY" callbacks.checkpoint.save_top_k=-1)
# HAT's SuperTransformer recipe (random sampling, one sub-network a step); the MoS kinds
# take the MoS paper's (experiment=mos_paper: sandwich sampling, 6 experts, its routers).
# Same data, updates, tokens an update (COMMON) and seed for every kind.
HAT_RECIPE=(model=hat optim=hat optim.schedule=hat_supernet optim.warmup_steps=$((STEPS / 4))
            model.dropout=0.3 model.attention_dropout=0.1 model.positions=sliced
            model.scale_dropout=true model.activation_dropout=0.0
            model.scale_encoder_attention_dropout=false model.extreme_arbitrary_ende_attn=1
            val_check_interval_updates=2000)
run() {  # stage, overrides...
  echo "== llmpp $*"
  [ "${DRY_RUN:-0}" = 1 ] && return
  echo "== llmpp $*" >> "$OUT_DIR/gpu.txt"
  "$PY" -m llmpp.cli "$@" 2>&1 | tail -5 | tee -a "$OUT_DIR/gpu.txt"
}
for kind in hat layer_mos neuron_mos; do
  if [ "$kind" = hat ]; then recipe=("${HAT_RECIPE[@]}"); else
    recipe=(experiment=mos_paper "model=$kind" optim.warmup_steps=$((STEPS / 4))); fi
  run supernet "${COMMON[@]}" "${recipe[@]}" "hydra.run.dir=$OUT_DIR/supernet-$kind"
  for step in $EVERY $((2 * EVERY)) $((3 * EVERY)); do
    run benchmark task=wmt14_en_de space=hat_space0 predictor=supernet logger=none $GOLD \
      "predictor.checkpoint=$OUT_DIR/supernet-$kind/checkpoints/step$step.ckpt" \
      predictor.valid_limit=null "hydra.run.dir=$OUT_DIR/score-$kind-$step"
  done
done
