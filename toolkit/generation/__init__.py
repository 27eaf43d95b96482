"""The generation engine: one room for what turns a model's scores into text.

* `processors`: the ordered list of logits processors (transformers' order), one signature;
* `stopping`: stopping criteria and segment filters as objects (stop strings, max tokens,
  max characters, a plugin's segment filter such as Markov's novelty redraw);
* `decoding`: the per-row incremental text decoder that makes streaming linear time;
* `run`: the batched run loop `toolkit.Generator.complete` and `stream` share.

The interface plugins implement stays `toolkit.generator.Generator`; the sampling options
and the sampler stay in `toolkit.sampling`.
"""
