"""The chain in markovify's own JSON formats, so markovify can load what this plugin saves.

`Chain.to_json()` is a list of ``[state, {next: count}]`` pairs with markovify's
``___BEGIN__`` and ``___END__`` markers; `Text.to_json()` wraps that string with the
state size and the parsed sentences (used by markovify's novelty test). The
highest-order counts are all the model needs: every lower order is their marginal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from markovify.chain import BEGIN

from .ngrams import NgramCounts


def text_json(counts: NgramCounts, vocab: list[str], sentences: list[list[str]] | None,
              extra: dict[str, Any] | None = None) -> str:
    """What `markovify.Text.to_json` would write for this chain; ``extra`` goes under a ``textgen`` key
    (markovify ignores it) so that importing the file back rebuilds the same model."""
    names = [*vocab, BEGIN]
    contexts, followers, numbers = counts.table()
    chain: dict[tuple[str, ...], dict[str, int]] = {}
    for context, token, count in zip(contexts.tolist(), followers.tolist(), numbers.tolist(), strict=True):
        chain.setdefault(tuple(names[i] for i in context), {})[names[token]] = count
    data: dict[str, Any] = {"state_size": counts.state_size, "chain": json.dumps(list(chain.items())),
                            "parsed_sentences": sentences}
    return json.dumps({**data, "textgen": extra} if extra else data)


@dataclass
class MarkovifyText:
    """A parsed markovify ``Text.to_json()`` (or bare ``Chain.to_json()``) file."""

    state_size: int
    chain: list[tuple[list[str], dict[str, int]]]
    sentences: list[list[str]] | None
    extra: dict[str, Any]

    @classmethod
    def parse(cls, data: str) -> MarkovifyText:
        """ValueError if ``data`` is neither format."""
        obj: Any = json.loads(data)
        if isinstance(obj, list):  # Chain.to_json(): the pairs alone; the state size is their length
            first = obj[0][0] if obj and isinstance(obj[0], list) and obj[0] else []
            obj = {"chain": obj, "state_size": len(first) if isinstance(first, list) else 0}
        if not isinstance(obj, dict) or not isinstance(obj.get("state_size"), int) or "chain" not in obj:
            raise ValueError("not a markovify Text or Chain JSON (no state_size and chain)")
        chain = json.loads(obj["chain"]) if isinstance(obj["chain"], str) else obj["chain"]
        _check_chain(chain, obj["state_size"])
        sentences = obj.get("parsed_sentences")
        if sentences is not None and not all(isinstance(s, list) for s in sentences):
            raise ValueError("parsed_sentences must be lists of words")
        extra = obj.get("textgen") if isinstance(obj.get("textgen"), dict) else {}
        return cls(obj["state_size"], [(state, following) for state, following in chain], sentences, extra)

    def tokens(self) -> list[str]:
        """Every token of the chain (BEGIN left out), each once."""
        names = dict.fromkeys(t for state, following in self.chain for t in (*state, *following))
        names.pop(BEGIN, None)
        return list(names)

    def table(self, vocab: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(contexts, next tokens, counts) as ids of ``vocab`` (BEGIN is ``len(vocab)``)."""
        ids = {name: i for i, name in enumerate([*vocab, BEGIN])}
        contexts, followers, numbers = [], [], []
        try:
            for state, following in self.chain:
                context = [ids[name] for name in state]
                for name, count in following.items():
                    contexts.append(context)
                    followers.append(ids[name])
                    numbers.append(count)
        except KeyError as exc:
            raise ValueError(f"the chain names token {exc} outside the vocabulary") from None
        counts = np.array(numbers)
        if counts.dtype.kind not in "iu" or (counts <= 0).any():
            raise ValueError("the chain's counts must be whole numbers of at least 1")
        return np.array(contexts, dtype=np.int64), np.array(followers, dtype=np.int64), counts.astype(np.int64)


def _check_chain(chain: Any, size: int) -> None:
    """ValueError unless ``chain`` is a non-empty list of [state of ``size`` tokens, {follower: count}]."""
    if not isinstance(chain, list) or not chain:
        raise ValueError("the markovify chain is empty")
    for pair in chain:
        if (not isinstance(pair, list) or len(pair) != 2 or not isinstance(pair[1], dict)
                or not isinstance(pair[0], list) or len(pair[0]) != size):
            raise ValueError(f"chain entry {str(pair)[:80]} is not a state of size {size} and its followers")


def read_text_json(data: str, vocab: list[str], size: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[list[str]] | None]:
    """(contexts, next tokens, counts, parsed sentences) from `text_json`'s output; ValueError if malformed."""
    text = MarkovifyText.parse(data)
    if text.state_size != size:
        raise ValueError(f"not a markovify Text JSON with state_size {size}")
    return (*text.table(vocab), text.sentences)


def looks_like_markovify(path: Path) -> bool:
    """A cheap check (the first bytes) that a file may be markovify JSON, before parsing all of it."""
    try:
        with path.open("rb") as file:
            head = file.read(4096)
    except OSError:
        return False
    return head.lstrip()[:1] in (b"{", b"[") and (b'"chain"' in head or b'"state_size"' in head
                                                  or head.lstrip().startswith(b"[[["))
