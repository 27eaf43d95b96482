"""What the serving tests share: the tiny corpus and LSTM options, `textgen` runs, `textgen generate`'s samples."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from served_process import textgen

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LINES = ["the cat sat on the mat.", "the dog sat on the log.", "a cat and a dog met on a mat.",
         "ROMEO: is the cat on the mat?", "JULIET: the dog is on the log!"]
TEXT = "\n".join(LINES[i % 5] if i % 3 else LINES[(i * 2) % 5] for i in range(200)) + "\n"
LSTM = {"embedding_size": 16, "hidden_size": 32, "batch_size": 4, "seq_len": 16, "max_steps": 30,
        "eval_every": 10, "eval_tokens": 256, "lr": 0.02, "warmup_steps": 5, "device": "cpu", "progress": False,
        "level": "char"}
#: The prompt limit the shared server runs with, small so the test of a too-large prompt stays cheap.
MAX_PROMPT_CHARS = 20_000


def run_textgen(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([textgen(), *args], capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, **(env or {})})


def samples(model: Path, prompt: str, **flags: object) -> list[str]:
    """What ``textgen generate MODEL --json`` gives for ``prompt`` and the flags (``top_k=5`` is ``--top-k 5``)."""
    args = [arg for key, value in flags.items() for arg in (f"--{key.replace('_', '-')}", str(value))]
    out = run_textgen("generate", str(model), "--prompt", prompt, "--json", *args)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["samples"]
