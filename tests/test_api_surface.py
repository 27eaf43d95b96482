"""The declared plugin API is frozen: the public names and signatures that plugin authors and API users
rely on (tests/support/api_surface.py) must match tests/api_surface.txt, so every change to them is a reviewed
change to that file, made in the same commit (`python tests/support/api_surface.py --update`)."""

from __future__ import annotations

import difflib

from api_surface import SNAPSHOT, surface


def test_the_public_surface_matches_its_checked_in_record():
    recorded = SNAPSHOT.read_text(encoding="utf-8").splitlines()
    current = surface()
    diff = "\n".join(difflib.unified_diff(recorded, current, "tests/api_surface.txt", "the code", lineterm=""))
    assert not diff, (
        "the public plugin API changed. If that is intended, keep the old names working (docs/plugins.md, "
        "'The plugin API'), run `python tests/support/api_surface.py --update` and commit tests/api_surface.txt with "
        f"the change:\n{diff}")


def test_the_surface_covers_what_plugins_subclass_and_call():
    lines = "\n".join(surface())
    for expected in ("class toolkit.Generator(", "    token_nats: method(self, ids: 'list[int]')",
                     "    train: abstract classmethod method(cls, corpus: 'Corpus', options: 'Options', *, seed: 'int'",
                     "class toolkit.Tokenized(", "class toolkit.Options(", "class toolkit.Candidates(",
                     "class toolkit.Completion(", "class toolkit.Score(", "class toolkit.data.tokenize.CharTokenizer(",
                     "class toolkit.Corpus(", "def toolkit.load_corpus(", "class toolkit.testing.GeneratorContract(",
                     "def toolkit.testing.check_generator(", "class toolkit.neural.Task(",
                     "class toolkit.neural.TrainConfig(", "def toolkit.neural.fit(", "toolkit.PLUGIN_API_VERSION = ",
                     "alias toolkit.tokenize -> toolkit.data.tokenize"):
        assert expected in lines, expected
