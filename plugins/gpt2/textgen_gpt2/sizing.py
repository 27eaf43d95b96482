"""GPT-2's sizing table: the rows `toolkit.neural.sizing` picks from when the user sets no size.

Pure data, no torch: ``textgen options gpt2`` and docs/sizing.md read it without loading a model.
The ``baby`` and ``small`` shapes come from `presets` (written once there). The CPU thresholds
were set on a 2-core x86 box (the machine `bench/RESULTS.md` measures on); docs/sizing.md says
where each row comes from. Under a seconds budget they count training tokens: a row's seconds at
its speed on that box (`SPEEDS`), against what the seconds buy at the row's speed measured on this
machine, so a slower machine gets the smaller model it can train.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from toolkit.neural.sizing import MEDIUM_CORPUS, SMALL_CORPUS, TINY_CORPUS, Table, budget_row, corpus_row, gpu_row

from .presets import LEARNING_RATES, PRESETS

#: Training tokens/s of the budget rows on the box the seconds were set on (2-core AMD EPYC, 2 threads, char
#: level on Tiny Shakespeare): bench/RESULTS.md, "Scaling at the sizing rule's sizes", 2026-12-02.
SPEEDS = {
    "cpu-short": 20_200,  # 20,851 tokens/s at 60 s and 19,656 at 85 s
    "cpu-medium": 17_500,  # baby: 17,958 at 600 s (the rerun alone under the lock), 17,133 at 300 s
}

#: The baby preset's classic training settings (`GPT2Options.fixed` fills the same for a preset).
BABY = {**PRESETS["baby"], "dropout": 0.0, "batch_size": 12, "lr": LEARNING_RATES["baby"]}


def weights(values: Mapping[str, Any]) -> int:
    """Rough weight count: 12 x layers x width squared (attention and MLP, embeddings left out)."""
    return 12 * values["layers"] * values["width"] ** 2


#: Smallest model first. Corpus rows cap the model; budget rows grow it; ``gpu`` is CUDA's.
TABLE = Table(
    rows=(
        corpus_row("tiny-corpus", TINY_CORPUS, "corpus under 20k chars", layers=2, heads=2, width=64, context=64,
                   dropout=0.3, batch_size=12, lr=3e-3),
        corpus_row("small-corpus", SMALL_CORPUS, "corpus under 150k chars", layers=3, heads=4, width=96,
                   context=64, dropout=0.2, batch_size=12, lr=3e-3),
        corpus_row("medium-corpus", MEDIUM_CORPUS, "corpus under 500k chars", layers=3, heads=4, width=128,
                   context=64, dropout=0.15, batch_size=12, lr=3e-3),
        budget_row("cpu-short", "CPU, under 150 s or 1,500 steps", 150, 1500, reference_speed=SPEEDS["cpu-short"],
                   layers=3, heads=4, width=128,
                   context=64, dropout=0.0, batch_size=12, lr=4e-3),
        budget_row("cpu-medium", "CPU, under 400 s or 5,000 steps (the baby preset)", 400, 5000,
                   reference_speed=SPEEDS["cpu-medium"], **BABY),
        # 6 x 4 x 128 with dropout 0.1 here reached only 1.579 nats/char in 600 s against baby's 1.481-1.489
        # (bench/RESULTS.md, scaling): on 2 CPU cores no deeper shape pays off within 600 s, so baby stays.
        budget_row("cpu-long", "CPU, longer (the baby preset: a deeper model trained worse in 600 s)", None, None,
                   **BABY),
        gpu_row("CUDA GPU, any budget (nanoGPT shakespeare_char)", **PRESETS["small"], dropout=0.2, batch_size=64,
                lr=LEARNING_RATES["small"]),
    ),
    size_keys=("layers", "heads", "width"),
    weights=weights,
    width="width",
    width_divisor="heads",
)
