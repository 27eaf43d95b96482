"""The canary: a third-party plugin written against the first release's docs and never edited since
(tests/canary/textgen-ngram-canary). It must install, be listed as ok, and pass its own tests, the
contract kit among them, with no warning but the DeprecationWarnings of the old paths and hooks it uses."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from fixture_plugins import run_textgen

CANARY = Path(__file__).resolve().parent / "canary" / "textgen-ngram-canary"
#: What the canary uses from the first release, and the new home each warning must name.
EXPECTED = [
    "toolkit.tokenize has moved to toolkit.data.tokenize", "toolkit.corpora has moved to toolkit.data.corpora",
    "toolkit.metrics has moved to toolkit.evaluation.metrics",
    "toolkit.sampling has moved to toolkit.generation.sampling",
    "NgramGenerator defines nats(), a first-release hook", "define token_nats(ids)",
    "NgramGenerator defines reject_segment(), a first-release hook", "define stopping_criteria()",
]

#: The contract kit's checks at the first release, and the canary's own tests: each must run and pass.
FIRST_RELEASE_CHECKS = {
    "test_deterministic", "test_max_tokens", "test_stop_strings", "test_stream_matches_generate",
    "test_score_is_finite", "test_rejects_bad_options", "test_unknown_prompt", "test_save_and_load",
    "test_corrupt_directory",
}
OWN_TESTS = {"test_nats_is_the_sum_of_its_own_distributions", "test_train_generate_and_score",
             "test_novel_lines_redraws_copied_lines"}


def test_the_canary_is_installed_and_listed_as_ok():
    out = run_textgen("plugins", folder=None)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    lines = {line.split()[0]: line for line in out.stdout.splitlines()}
    assert "ngram-canary" in lines, "the canary is not installed: bash scripts/setup.sh installs it"
    assert lines["ngram-canary"].split()[1:] == ["textgen-ngram-canary", "0.1.0", "ok"]


def test_the_canary_passes_its_own_tests_with_only_deprecation_warnings():
    """Any other warning is an error in that run (-W error); each expected deprecation is reported."""
    out = subprocess.run(
        [sys.executable, "-W", "error", "-W", "always::DeprecationWarning", "-m", "pytest",
         "-p", "no:cacheprovider", "-v", "-W", "error", "-W", "always::DeprecationWarning", "tests"],
        cwd=CANARY, capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "TEXTGEN_PLUGINS": "ngram-canary"})
    report = out.stdout + out.stderr
    assert out.returncode == 0, report[-3000:]
    passed = set(re.findall(r"::(\w+) PASSED", report))
    assert FIRST_RELEASE_CHECKS | OWN_TESTS <= passed, report[-3000:]
    assert set(re.findall(r"\b(\w+Warning): ", report)) == {"DeprecationWarning"}, report[-3000:]
    missing = [text for text in EXPECTED if text not in report]
    assert not missing, f"expected deprecations not reported: {missing}"
