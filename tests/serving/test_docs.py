"""The `curl` examples of docs/serve.md, run against a server holding the models they name."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "serve.md"
DOC_URL = "http://127.0.0.1:8000/v1"


def curl_examples() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    return [block for block in blocks if block.lstrip().startswith("curl ")]


def test_the_doc_has_curl_examples():
    assert len(curl_examples()) >= 4


@pytest.mark.parametrize("example", curl_examples())
def test_curl_example(server, example: str):
    assert DOC_URL in example
    out = subprocess.run(["bash", "-c", example.replace(DOC_URL, server.url)], capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    if '"stream": true' in example:
        events = [line.removeprefix("data: ") for line in out.stdout.splitlines() if line.startswith("data: ")]
        assert events[-1] == "[DONE]" and all("error" not in json.loads(e) for e in events[:-1])
    else:
        answer = json.loads(out.stdout)
        assert "error" not in answer and (answer.get("data") or answer.get("choices"))
