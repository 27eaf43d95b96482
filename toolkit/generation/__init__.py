"""The generation engine: one room for what turns a model's scores into text.

* `sampling`: the sampling layer every generator goes through: its options, the sampler,
  the candidate scores a plugin returns;
* `processors`: the ordered list of logits processors (transformers' order), one signature;
* `stopping`: stopping criteria and segment filters as objects (stop strings, max tokens,
  max characters, a plugin's segment filter such as Markov's novelty redraw);
* `decoding`: the per-row incremental text decoder that makes streaming linear time;
* `run`: the batched run loop `toolkit.Generator.complete` and `stream` share.

The interface plugins implement is `toolkit.generator.Generator`, one floor up.
"""
