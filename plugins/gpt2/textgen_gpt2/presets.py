"""Model presets: pure data, so the options model and the sizing table can name them without importing torch.

Each shape is written here once, in the plugin's option names; the sizing table's rows reuse them.
"""

#: Shapes: nanoGPT's CPU "baby GPT", and its GPU ``shakespeare_char`` config.
PRESETS: dict[str, dict[str, int]] = {
    "baby": {"layers": 4, "heads": 4, "width": 128, "context": 64},
    "small": {"layers": 6, "heads": 6, "width": 384, "context": 256},
}

#: Default peak learning rates. nanoGPT's 1e-3 suits its 5000-step runs; for baby's usual budget
#: (about 1000 steps in 83 s on a 2-core CPU) 3e-3 reached 2.06 nats/char in 600 steps where 1e-3
#: reached 2.25 (5e-3: 2.04).
LEARNING_RATES: dict[str, float] = {"baby": 3e-3, "small": 1e-3}


def describe(name: str) -> str:
    """``baby = 4 layers x 4 heads x 128 wide, context 64``: a preset in words, for the option's help."""
    shape = PRESETS[name]
    return (f"{name} = {shape['layers']} layers x {shape['heads']} heads x {shape['width']} wide, "
            f"context {shape['context']}")
