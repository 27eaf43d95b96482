#!/usr/bin/env bash
# The second device call of issue 25, after bench/gpu-run.sh: the GPU tests that failed there, rerun after their
# fixes, and the char GPT-2 again for 90 s with validation over 131k tokens every 200 steps (the first run chose
# its best weights on a 16k-token slice every ~11 s, and overfit after ~57 s). From the project root:
#   run(command='bash bench/gpu-rerun.sh', carry=[".gpu"], timeout_s=300)
# Since that call, pytest runs with -v and faulthandler_timeout: a run killed by its timeout still names each test
# it finished, and a test stuck for 50 s dumps its stack (that call's was killed at 77% with 2 unnamed failures).
set -u
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false TEXTGEN_CORPORA=$PWD/.gpu/corpora
FINAL=${OUT:-/tmp/out}; mkdir -p "$FINAL"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/whl/*.whl \
  && export PYTHONPATH=/tmp/site
python3 -m pip install -q --no-deps --no-build-isolation -e . -e plugins/lstm -e plugins/gpt2 -e plugins/markov \
  -e examples/textgen-bigram > "$FINAL/install.log" 2>&1 || tail -n 3 "$FINAL/install.log"
export PATH="$(python3 -c "import os,sys;print(os.path.dirname(sys.executable))"):$PATH"
echo "[$(date +%T)] tests"
timeout 110 python3 -m pytest -v -p no:cacheprovider -o faulthandler_timeout=50 -n 8 plugins/lstm/tests/test_lstm.py plugins/gpt2/tests/test_gpt2.py \
  tests/neural tests/test_training_record.py > "$FINAL/pytest.log" 2>&1; echo "pytest rc=$?" >> "$FINAL/pytest.log"
grep -E "^(FAILED|ERROR|SKIPPED)|passed|failed" "$FINAL/pytest.log" | tail -n 12
echo "[$(date +%T)] gpt2 char 90 s, eval_tokens=131072, eval_every=200"
timeout 150 textgen train gpt2 --corpus tinyshakespeare --level char --device cuda --max-seconds 90 --seed 1 \
  -o eval_tokens=131072 -o eval_every=200 --out /tmp/g --json > "$FINAL/gpt2b.json" 2> "$FINAL/gpt2b.err"
echo "rc=$? $(grep -E '"(val_bpc|train_seconds)"' "$FINAL/gpt2b.json" | tr -d ' \n')"
cp /tmp/g/textgen.json "$FINAL/manifest-gpt2b.json"
timeout 30 textgen score /tmp/g --corpus tinyshakespeare --device cuda --json | tr -d ' \n'; echo
echo "[$(date +%T)] done"
