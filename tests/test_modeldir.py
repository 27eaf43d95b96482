"""The model directory module: the manifest's origin stamp, and the old import paths of its names."""

from __future__ import annotations

import json
import warnings

import pytest
from textgen_bigram import BigramGenerator

import toolkit
from toolkit import modeldir


class LocalBigram(BigramGenerator):
    """A subclass defined outside any distribution: the registry never loaded it."""


def test_a_registered_class_records_its_distribution_and_a_subclass_does_not_inherit_it(bigram_model, tmp_path):
    assert modeldir.origin(type(bigram_model))[0] == "textgen-bigram"
    local = LocalBigram(bigram_model.tokenizer, bigram_model.log_probs, 0.1)
    path = local.save(tmp_path / "local")
    manifest = json.loads((path / modeldir.MANIFEST).read_text())
    assert (manifest["distribution"], manifest["plugin_version"]) == modeldir.UNREGISTERED
    assert type(toolkit.load(path)) is BigramGenerator  # the one installed 'bigram' plugin loads it


MOVED = [("toolkit.generator", "MANIFEST"), ("toolkit.generator", "MANIFEST_FORMAT"),
         ("toolkit.generator", "MANIFEST_VERSION"), ("toolkit.api", "read_manifest"), ("toolkit.api", "TRAIN_STATE")]


@pytest.mark.parametrize(("module", "name"), MOVED)
def test_moved_names_still_work_and_warn_naming_the_new_path(module, name):
    old = __import__(module, fromlist=[name])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = getattr(old, name)
    assert value is getattr(modeldir, name)
    assert [w.category for w in caught] == [DeprecationWarning]
    assert f"{module}.{name} has moved to toolkit.modeldir.{name}" in str(caught[0].message)
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        old.nothing_here  # noqa: B018
