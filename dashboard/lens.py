"""The temperature lens: what each sampling option does to one next-token distribution."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from toolkit.generation.processors import Processor
from toolkit.generation.sampling import SamplingOptions, distribution
from toolkit.generation.temperatures import DEFAULT_TEMPERATURES
from toolkit.generator import Generator

from .views import token_label

#: The original lesson's temperature sweep.
SWEEP = DEFAULT_TEMPERATURES


def stages(options: SamplingOptions) -> dict[str, list[Processor]]:
    """The options' processors switched on one at a time, in the order the sampler applies them."""
    processors = options.processors()
    steps: dict[str, list[Processor]] = {"model": []}
    for i, processor in enumerate(processors):
        steps[f"+ {processor.label}"] = processors[: i + 1]
    return steps


def next_token_table(model: Generator, history: Sequence[int], options: SamplingOptions,
                     top: int = 15) -> tuple[list[str], dict[str, np.ndarray]]:
    """Labels of the ``top`` likeliest next tokens after ``history``, and their probability per stage.

    Temperature, top-k, top-p and min-p never reorder tokens, so the model's own top
    tokens show where each stage moves the mass.
    """
    _, scores = model.begin(list(history), 1)
    probs = {}
    for label, processors in stages(options).items():
        ids, ps = distribution(scores, [*model.logits_processors(), *processors], history, model.name)
        probs[label] = {int(i): float(p) for i, p in zip(ids, ps, strict=True) if i >= 0}
    tokens = sorted(probs["model"], key=probs["model"].get, reverse=True)[:top]
    labels, seen = [], set()
    for token in tokens:
        label = token_label(model.decode([token]))
        labels.append(label if label not in seen else f"{label} #{token}")
        seen.add(label)
    return labels, {stage: np.array([row.get(t, 0.0) for t in tokens]) for stage, row in probs.items()}
