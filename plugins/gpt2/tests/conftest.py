"""Run this directory's torch work on one CPU thread.

The models here are tiny: a second intra-op thread buys nothing, and on a busy 2-core
machine its spin-waiting made training 20x slower. Subprocesses (the contract kit's
fresh-process check) inherit ``OMP_NUM_THREADS``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    threads, env = torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")
    torch.set_num_threads(1)
    os.environ["OMP_NUM_THREADS"] = "1"
    yield
    torch.set_num_threads(threads)
    if env is None:
        del os.environ["OMP_NUM_THREADS"]
    else:
        os.environ["OMP_NUM_THREADS"] = env
