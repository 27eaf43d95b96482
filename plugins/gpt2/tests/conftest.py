"""Run this directory's torch work on one CPU thread.

The models here are tiny: a second intra-op thread buys nothing, and on a busy 2-core
machine its spin-waiting made training 20x slower. Subprocesses (the contract kit's
fresh-process check) inherit ``TEXTGEN_THREADS``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    threads, env = torch.get_num_threads(), os.environ.get("TEXTGEN_THREADS")
    os.environ["TEXTGEN_THREADS"] = "1"  # the toolkit's thread rule reads it before every forward pass
    yield
    torch.set_num_threads(threads)
    if env is None:
        del os.environ["TEXTGEN_THREADS"]
    else:
        os.environ["TEXTGEN_THREADS"] = env
