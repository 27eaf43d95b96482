#!/usr/bin/env bash
# Create .venv and install the toolkit, the built-in plugins, the example plugin and the canary plugin (a
# first-release plugin that is never edited; docs/plugins.md, "The plugin API"), editable.
# Sourced by scripts/demo.sh and scripts/test.sh; safe to run again (it only adds what is missing).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
export PIP_DISABLE_PIP_VERSION_CHECK=1
# The installs are editable, so code changes need no reinstall; only a changed pyproject.toml does
# (dependencies, entry points). A stamp of their checksum lets a second demo skip pip's ~20 s check.
stamp=.venv/.textgen-installed
wanted=$(python -c 'import hashlib, sys; print(hashlib.sha256(b"".join(open(f, "rb").read() for f in sys.argv[1:])).hexdigest())' \
  pyproject.toml plugins/*/pyproject.toml examples/textgen-bigram/pyproject.toml \
  tests/canary/textgen-ngram-canary/pyproject.toml)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  # torch: keep an installed build (a CUDA one on a GPU machine); otherwise take 2.13.0, which on the
  # project's CPU machines is a local CPU wheel (an unpinned torch would pull several GB of CUDA packages).
  python -c "import torch" 2>/dev/null || pip install -q "torch==2.13.0"
  pip install -q -e ".[compare,dashboard,test]" -e plugins/markov -e plugins/lstm -e plugins/gpt2 \
      -e examples/textgen-bigram -e tests/canary/textgen-ngram-canary
  echo "$wanted" > "$stamp"
fi
# The corpora: the shared folder beside the checkout when there is one, else a download on first use.
if [ -z "${TEXTGEN_CORPORA:-}" ] && [ -d "$root/../shared/corpora" ]; then
  TEXTGEN_CORPORA=$(cd "$root/../shared/corpora" && pwd)
  export TEXTGEN_CORPORA
fi
