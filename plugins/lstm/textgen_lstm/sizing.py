"""The LSTM's sizing table: the rows `toolkit.neural.sizing` picks from when the user sets no size.

Pure data, no torch: ``textgen options lstm`` and docs/sizing.md read it without loading a model.
The CPU thresholds were set on a 2-core x86 box (the machine `bench/RESULTS.md` measures on);
docs/sizing.md says where each row comes from. Under a seconds budget they count training tokens:
a row's seconds at its speed on that box (`SPEEDS`), against what the seconds buy at the row's
speed measured on this machine, so a slower machine gets the smaller model it can train.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from toolkit.neural.sizing import MEDIUM_CORPUS, SMALL_CORPUS, TINY_CORPUS, Table, budget_row, corpus_row, gpu_row

#: Training tokens/s of the budget rows on the box the seconds were set on (2-core AMD EPYC, 2 threads, char
#: level on Tiny Shakespeare): bench/RESULTS.md, "Scaling at the sizing rule's sizes", 2026-12-02.
SPEEDS = {
    "cpu-short": 42_400,  # 42,465 tokens/s at 60 s and 42,370 at 85 s
    "cpu-medium": 26_600,  # 26,648 at 150 s, the rerun alone under the lock (the first, disturbed run: 15,441)
}


def weights(values: Mapping[str, Any]) -> int:
    """Rough weight count: the four gates of each layer, over the input and the hidden state."""
    return 4 * values["hidden_size"] * (values["hidden_size"] + values["embedding_size"]) * values["layers"]


#: Smallest model first. Corpus rows cap the model; budget rows grow it; ``gpu`` is CUDA's.
TABLE = Table(
    rows=(
        corpus_row("tiny-corpus", TINY_CORPUS, "corpus under 20k chars", embedding_size=32, hidden_size=128,
                   layers=1, dropout=0.4, batch_size=16, seq_len=64, lr=5e-3),
        corpus_row("small-corpus", SMALL_CORPUS, "corpus under 150k chars", embedding_size=48, hidden_size=256,
                   layers=1, dropout=0.3, batch_size=32, seq_len=64, lr=5e-3),
        corpus_row("medium-corpus", MEDIUM_CORPUS, "corpus under 500k chars", embedding_size=64, hidden_size=384,
                   layers=1, dropout=0.2, batch_size=32, seq_len=64, lr=5e-3),
        budget_row("cpu-short", "CPU, under 150 s or 2,500 steps", 150, 2500, reference_speed=SPEEDS["cpu-short"],
                   embedding_size=64, hidden_size=384,
                   layers=1, dropout=0.0, batch_size=32, seq_len=64, lr=5e-3),
        budget_row("cpu-medium", "CPU, under 400 s or 6,000 steps", 400, 6000, reference_speed=SPEEDS["cpu-medium"],
                   embedding_size=64, hidden_size=512,
                   layers=1, dropout=0.1, batch_size=32, seq_len=64, lr=4e-3),
        budget_row("cpu-long", "CPU, longer", None, None, embedding_size=96, hidden_size=640, layers=1,
                   dropout=0.2, batch_size=32, seq_len=96, lr=3e-3),
        gpu_row("CUDA GPU, any budget", embedding_size=128, hidden_size=1024, layers=2, dropout=0.2,
                batch_size=128, seq_len=128, lr=3e-3),
    ),
    size_keys=("hidden_size", "layers"),
    weights=weights,
    width="hidden_size",
)
