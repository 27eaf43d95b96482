"""Reference lines no family owns: what any model must beat on the same split.

Each is bits per character of the validation text given the training text:

* uniform over the training characters: log2 of their alphabet;
* a character unigram fitted on the training split (add-one, with an escape whose
  characters are spelled over Unicode, as `toolkit.data.tokenize` charges unknown characters);
* zlib -9, bz2 -9 and lzma preset 9|extreme, charged the code length of the validation text
  given the training text, ``8 * (len(C(train + val)) - len(C(train))) / len(val)``.

"Does it beat lzma?" is the first question a careful reader asks of a language model.
The compressors take seconds on a megabyte, so the lines are cached per corpus checksum and split.
"""

from __future__ import annotations

import bz2
import json
import lzma
import math
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass

from .. import __version__, atomic
from ..data.corpora import Corpus, cache_dir
from ..data.tokenize import UNICODE_NATS


@dataclass(frozen=True)
class Reference:
    """One reference line: its name, bits per character and how it was computed."""

    name: str
    bpc: float
    how: str


COMPRESSORS: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "zlib -9": (lambda data: zlib.compress(data, 9), "zlib.compress(level=9)"),
    "bz2 -9": (lambda data: bz2.compress(data, 9), "bz2.compress(compresslevel=9)"),
    "lzma -9e": (lambda data: lzma.compress(data, preset=9 | lzma.PRESET_EXTREME),
                 "lzma.compress(preset=9 | PRESET_EXTREME)"),
}


def uniform_bpc(train: str) -> float:
    """log2 of the training alphabet: every character equally likely."""
    return math.log2(len(set(train)))


def unigram_bpc(train: str, val: str) -> float:
    """A character unigram of the training split, add-one over its alphabet plus an escape."""
    counts = Counter(train)
    total = len(train) + len(counts) + 1
    bits = 0.0
    for char, n in Counter(val).items():
        seen = counts.get(char)
        cost = -math.log2((seen + 1) / total) if seen else -math.log2(1 / total) + UNICODE_NATS / math.log(2)
        bits += n * cost
    return bits / len(val)


def compressor_bpc(compress: Callable[[bytes], bytes], train: str, val: str) -> float:
    """The compressor's code length of ``val`` given ``train``, in bits per character of ``val``."""
    before, both = train.encode("utf-8"), (train + val).encode("utf-8")
    return 8 * (len(compress(both)) - len(compress(before))) / len(val)


def compute(train: str, val: str) -> list[Reference]:
    """Every reference line for this split, computed now."""
    lines = [Reference("uniform", uniform_bpc(train), "log2 of the training alphabet"),
             Reference("unigram", unigram_bpc(train, val), "character unigram of the training split, add-one")]
    lines += [Reference(name, compressor_bpc(fn, train, val), f"{how}, 8*(len(C(train+val))-len(C(train)))/len(val)")
              for name, (fn, how) in COMPRESSORS.items()]
    return lines


def reference_lines(corpus: Corpus) -> list[Reference]:
    """The reference lines of ``corpus``'s split, from the cache when its checksum is known."""
    if not corpus.sha256:
        return compute(corpus.train, corpus.val)
    path = cache_dir().parent / "references" / f"{corpus.sha256[:32]}-{corpus.split_at}-{__version__}.json"
    try:
        return [Reference(**line) for line in json.loads(path.read_text(encoding="utf-8"))]
    except (OSError, ValueError, TypeError):
        pass
    lines = compute(corpus.train, corpus.val)
    try:
        atomic.write_json(path, [asdict(line) for line in lines])
    except OSError:
        pass  # a read-only cache only costs the next run a few seconds
    return lines
