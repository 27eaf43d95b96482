"""Model presets: pure data, so the options model can name them without importing torch."""

#: Shapes: nanoGPT's CPU Shakespeare config, and its "baby GPT" GPU config.
PRESETS: dict[str, dict[str, int]] = {
    "baby": {"n_layer": 4, "n_head": 4, "n_embd": 128, "n_positions": 64},
    "small": {"n_layer": 6, "n_head": 6, "n_embd": 384, "n_positions": 256},
}

#: Default peak learning rates. nanoGPT's 1e-3 suits its 5000-step runs; for baby's usual budget
#: (about 1000 steps in 83 s on a 2-core CPU) 3e-3 reached 2.06 nats/char in 600 steps where 1e-3
#: reached 2.25 (5e-3: 2.04).
LEARNING_RATES: dict[str, float] = {"baby": 3e-3, "small": 1e-3}
