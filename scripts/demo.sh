#!/usr/bin/env bash
# The main job: install everything, train one model of each family on Tiny Shakespeare, compare them.
set -euo pipefail
# shellcheck disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
textgen demo "$@"
