"""The fixed evaluation slice stands for the whole validation split, not its first characters."""

from __future__ import annotations

import itertools

from toolkit.data.heldout import MIN_PIECE, PIECES, HeldOut, spans
from toolkit.data.tokenize import CharTokenizer


def test_a_slice_spreads_over_the_whole_split():
    windows = spans(100_000, 8_192)
    assert len(windows) == PIECES and sum(b - a for a, b in windows) <= 8_192
    assert windows[0][0] == 0 and windows[-1][1] == 100_000  # the start and the end both count
    starts = [a for a, _ in windows]
    gaps = {b - a for a, b in itertools.pairwise(starts)}
    assert max(gaps) - min(gaps) <= 1  # evenly spaced
    assert all(b1 <= a2 for (_, b1), (a2, _) in itertools.pairwise(windows))


def test_a_short_split_is_scored_whole():
    windows = spans(3_000, 32_768)
    assert windows[0][0] == 0 and windows[-1][1] == 3_000
    assert all(b1 == a2 for (_, b1), (a2, _) in itertools.pairwise(windows))
    assert all(b - a >= MIN_PIECE for a, b in windows)


def test_the_slice_is_the_same_every_time_and_charges_unknown_characters():
    text = "".join(f"line {i}: the cat sat.\n" for i in range(2_000)) + "ζ"
    chars = CharTokenizer.fit(text[:-1])
    first, again = HeldOut.from_text(text, chars, 4_096), HeldOut.from_text(text, chars, 4_096)
    assert first == again and first.tokens == sum(map(len, first.windows))
    assert first.chars <= 4_096 < len(text) and "evenly spaced" in first.describe()["how"]
    assert first.unknown_nats == chars.unknown_nats("ζ") > 0  # the last window ends at the split's end
