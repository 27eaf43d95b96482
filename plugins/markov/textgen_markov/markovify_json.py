"""The chain in markovify's own JSON formats, so markovify can load what this plugin saves.

`Chain.to_json()` is a list of ``[state, {next: count}]`` pairs with markovify's
``___BEGIN__`` and ``___END__`` markers; `Text.to_json()` wraps that string with the
state size and the parsed sentences (used by markovify's novelty test). The
highest-order counts are all the model needs: every lower order is their marginal.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from markovify.chain import BEGIN

from .ngrams import NgramCounts


def text_json(counts: NgramCounts, vocab: list[str], sentences: list[list[str]] | None) -> str:
    """What `markovify.Text.to_json` would write for this chain."""
    names = [*vocab, BEGIN]
    contexts, followers, numbers = counts.table()
    chain: dict[tuple[str, ...], dict[str, int]] = {}
    for context, token, count in zip(contexts.tolist(), followers.tolist(), numbers.tolist(), strict=True):
        chain.setdefault(tuple(names[i] for i in context), {})[names[token]] = count
    return json.dumps({"state_size": counts.state_size, "chain": json.dumps(list(chain.items())),
                       "parsed_sentences": sentences})


def read_text_json(data: str, vocab: list[str], size: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[list[str]] | None]:
    """(contexts, next tokens, counts, parsed sentences) from `text_json`'s output; ValueError if malformed."""
    obj: Any = json.loads(data)
    if not isinstance(obj, dict) or obj.get("state_size") != size or not isinstance(obj.get("chain"), str):
        raise ValueError(f"not a markovify Text JSON with state_size {size}")
    ids = {name: i for i, name in enumerate([*vocab, BEGIN])}
    contexts, followers, numbers = [], [], []
    for state, following in json.loads(obj["chain"]):
        context = [ids[name] for name in state]
        if len(context) != size or not isinstance(following, dict):
            raise ValueError(f"chain state {state!r} is not a state of size {size}")
        for name, count in following.items():
            contexts.append(context)
            followers.append(ids[name])
            numbers.append(count)
    counts = np.array(numbers, dtype=np.int64)
    if not len(counts) or (counts <= 0).any():
        raise ValueError("the chain is empty or has counts below 1")
    sentences = obj.get("parsed_sentences")
    if sentences is not None and not all(isinstance(s, list) for s in sentences):
        raise ValueError("parsed_sentences must be lists of words")
    return np.array(contexts, dtype=np.int64), np.array(followers, dtype=np.int64), counts, sentences
