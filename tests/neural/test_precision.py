"""Held-out figures are scored in IEEE float32 on every device (issue 25: cuDNN's LSTM runs float32 as TF32)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from toolkit.neural import exact_float32  # noqa: E402
from toolkit.neural.device import _PRECISION_KNOBS, _knob  # noqa: E402


def _precisions() -> list[str | None]:
    """Each knob's float32 precision; None where this torch has no such knob."""
    return [getattr(_knob(path), "fp32_precision", None) for path in _PRECISION_KNOBS]


@pytest.mark.skipif(_knob("cudnn.rnn") is None, reason="this torch has no per-kernel float32 precision")
def test_cuda_scoring_turns_tf32_off_inside_and_restores_it_after():
    """The flags are global, so they flip only inside, and back even when scoring fails."""
    before = _precisions()
    with exact_float32(torch.device("cuda")):
        assert _precisions() == ["ieee"] * len(_PRECISION_KNOBS)
    assert _precisions() == before
    with pytest.raises(RuntimeError), exact_float32(torch.device("cuda")):
        raise RuntimeError("scoring failed")
    assert _precisions() == before


def test_cpu_scoring_changes_nothing():
    before = _precisions()
    with exact_float32(torch.device("cpu")):
        assert _precisions() == before
