#!/usr/bin/env bash
# One device call: the toolkit's CUDA paths, timed, beside nanoGPT's shakespeare_char recipe (issue 25). This is
# ../shared/gpu/run.sh with the test paths of today's layout, longer test and CPU-scoring timeouts, the CPU scores run
# beside the generation timing, and nvidia-smi's view kept. From the project root, after ../shared/gpu/prepare.sh:
#   run(command='PYTEST_ARGS="-n 8" bash bench/gpu-run.sh 90 90 130', carry=[".gpu"], timeout_s=595)
# It leaves all.tgz (every log, JSON result and manifest) and steps.log in $OUT. Try it on CPU first, with the
# project's .venv active: SKIP_INSTALL=1 DEV=cpu NANO_ARGS="--device=cpu --compile=False --max_iters=10 --eval_interval=5
#   --eval_iters=2 --batch_size=4 --n_layer=2 --n_embd=64 --n_head=2 --block_size=32" bash bench/gpu-run.sh 3 3 15
set -u
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
S_LSTM=${1:-100}; S_GPT=${2:-100}; S_NANO=${3:-130}; DEV=${DEV:-cuda}; NANO_ARGS=${NANO_ARGS:-}
FINAL=${OUT:-/tmp/out}; OUT=/tmp/w; rm -rf $OUT; mkdir -p "$OUT" "$FINAL"
pack() { for m in lstm gpt2 lstm-word lstm-ddp; do cp $R/$m/textgen.json "$OUT/manifest-$m.json" 2>/dev/null; done; tar czf "$FINAL/all.tgz" -C "$OUT" . ; cp "$OUT/steps.log" "$FINAL/"; }
root=$(pwd); G=$root/.gpu
export TEXTGEN_CORPORA=$G/corpora
log() { echo "[$(date +%T)] $*" | tee -a "$OUT/steps.log"; }
stamp() { while IFS= read -r l; do printf '%s %s\n' "$(date +%s.%N | cut -c1-14)" "$l"; done; }
log "host: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1)"
if [ -z "${SKIP_INSTALL:-}" ]; then
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$G"/whl/*.whl \
  && export PYTHONPATH=/tmp/site || log "wheel install failed"
(cd "$root" && python3 -m pip install -q --no-deps --no-build-isolation -e . -e plugins/lstm -e plugins/gpt2 -e plugins/markov -e examples/textgen-bigram) \
  > "$OUT/install.log" 2>&1 || log "project install failed: $(tail -n 3 "$OUT/install.log")"
fi
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__, 'cuda', torch.cuda.is_available())" 2>&1 | tee -a "$OUT/steps.log"
export PATH="$(python3 -c "import os,sys;print(os.path.dirname(sys.executable))"):$PATH"
textgen plugins 2>&1 | tee -a "$OUT/steps.log"
R=/tmp/runs; rm -rf $R /tmp/nano; mkdir -p $R
# Phase 2 (timed, one at a time): char LSTM, char GPT-2 (rule's gpu row), nanoGPT's recipe.
log "lstm char ${S_LSTM}s"
timeout $((S_LSTM + 90)) textgen train lstm --corpus tinyshakespeare --level char --device $DEV --max-seconds "$S_LSTM" --seed 1 \
  --out $R/lstm --json > "$OUT/lstm.json" 2> "$OUT/lstm.err"; log "lstm rc=$? $(tail -c 300 "$OUT/lstm.json")"
log "gpt2 char ${S_GPT}s"
timeout $((S_GPT + 90)) textgen train gpt2 --corpus tinyshakespeare --level char --device $DEV --max-seconds "$S_GPT" --seed 1 \
  --out $R/gpt2 --json > "$OUT/gpt2.json" 2> "$OUT/gpt2.err"; log "gpt2 rc=$? $(tail -c 300 "$OUT/gpt2.json")"; pack
log "nanogpt ${S_NANO}s"
(cd "$G/nanogpt" && timeout "$S_NANO" python3 train.py config/train_shakespeare_char.py --out_dir=/tmp/nano $NANO_ARGS 2>&1 | stamp > "$OUT/nanogpt.log")
pack; log "nanogpt ended; $(grep -c 'val loss' "$OUT/nanogpt.log") evals"
(cd "$G/nanogpt" && timeout 60 python3 full_val.py /tmp/nano data/shakespeare_char/val.bin) 2>&1 | tee -a "$OUT/steps.log"
# Phase 1 (untimed, in parallel): the GPU-side tests, a short word LSTM, DDP over nccl at world size 1.
log "phase 1"
(cd "$root" && timeout 120 python3 -m pytest -v -p no:cacheprovider -o faulthandler_timeout=50 ${PYTEST_ARGS:-} \
   plugins/lstm/tests/test_lstm.py plugins/gpt2/tests/test_gpt2.py tests/neural tests/test_training_record.py \
   > "$OUT/pytest.log" 2>&1; echo "pytest rc=$?" >> "$OUT/pytest.log") &
(timeout 60 textgen train lstm --corpus tinyshakespeare --level word --device $DEV --max-seconds 25 --seed 1 --out $R/lstm-word --json \
   > "$OUT/lstm-word.json" 2> "$OUT/lstm-word.err"; echo "rc=$?" >> "$OUT/lstm-word.err") &
(timeout 60 torchrun --standalone --nproc_per_node=1 "$(command -v textgen)" train lstm --corpus tinyshakespeare --device $DEV \
   -o max_steps=60 --seed 1 --out $R/lstm-ddp --json > "$OUT/ddp.json" 2> "$OUT/ddp.err"; echo "rc=$?" >> "$OUT/ddp.err") &
wait
pack; log "phase 1 done: $(tail -n 2 "$OUT/pytest.log" | tr '\n' ' ')"
# Phase 3: the same models scored on CPU and GPU, and generation speed on the GPU.
for m in lstm gpt2; do
  timeout 45 textgen score $R/$m --corpus tinyshakespeare --device $DEV --json > "$OUT/score-$m-$DEV.json" 2>> "$OUT/score.err"
  log "score $m $DEV: $(tr -d '\n ' < "$OUT/score-$m-$DEV.json" | cut -c1-220)"
done
for m in lstm gpt2; do
  (TEXTGEN_THREADS=6 timeout 150 textgen score $R/$m --corpus tinyshakespeare --device cpu --json \
     > "$OUT/score-$m-cpu.json" 2>> "$OUT/score.err") &
done
timeout 100 python3 "$G/genspeed.py" $R/gpt2 $R/lstm 2>&1 | tee -a "$OUT/steps.log"
wait
for m in lstm gpt2; do log "score $m cpu: $(tr -d '\n ' < "$OUT/score-$m-cpu.json" | cut -c1-220)"; done
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1
log "all done"; pack
