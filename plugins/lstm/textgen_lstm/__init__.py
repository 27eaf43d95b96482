"""textgen plugin: a char-rnn style LSTM language model at character or word level.

Importing this package stays cheap (no torch): the model and training code load on
first use, so ``textgen plugins`` is fast.
"""

from .generator import LSTMGenerator, LSTMOptions

__all__ = ["LSTMGenerator", "LSTMOptions"]
