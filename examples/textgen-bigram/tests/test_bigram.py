"""The example plugin runs the same contract kit every built-in plugin runs."""

from pathlib import Path

import toolkit
from toolkit.data.corpora import Corpus
from toolkit.testing import GeneratorContract

TEXT = "the cat sat on the mat. the dog sat on the log. a cat and a dog met on a mat.\n" * 20


class TestBigramContract(GeneratorContract):
    prompt = "the "
    score_text = "the dog sat on a cat.\n"

    def make_generator(self, tmp_path: Path):
        return toolkit.train("bigram", Corpus("tiny", TEXT), smoothing=0.1)
