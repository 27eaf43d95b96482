"""How good a generator is, in figures that mean the same for every family.

* `metrics`: diversity across samples (distinct-n, self-BLEU, repetition) and novelty
  against the training text (n-gram overlap, longest copy, markovify's overlap test);
* `references`: the lines no family owns on a corpus split (uniform, unigram, zlib, bz2, lzma).

Bits per character themselves are `Generator.score`; the held-out slice training estimates
score is `toolkit.data.heldout`.
"""
