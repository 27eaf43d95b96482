"""Atomic writes (toolkit/atomic.py): a save killed or interrupted midway never loses the old model,
and leaves no debris that blocks the next save or a resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from files import snapshot

import toolkit

TEXTGEN = Path(sys.executable).with_name("textgen")
TEXT = "the cat sat on the mat. the dog sat on the log. a cat and a dog met on a mat.\n" * 20


KILL_MIDWAY = """
import sys, time
from pathlib import Path
import toolkit
from toolkit.data.corpora import Corpus
from textgen_bigram import BigramGenerator

def slow(self, folder):
    (folder / "half-written").write_text("x")
    print("saving", flush=True)
    time.sleep(60)

BigramGenerator.save_files = slow
toolkit.train("bigram", Corpus("tiny", sys.argv[2]), out=sys.argv[1], overwrite=True)
"""


def test_a_save_killed_midway_keeps_the_old_model_and_the_next_save_clears_its_debris(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT)
    out = tmp_path / "model"
    train = [str(TEXTGEN), "train", "bigram", "--corpus", str(corpus), "--out", str(out)]
    subprocess.run(train, check=True, capture_output=True)
    model = snapshot(out)
    killed = subprocess.Popen([sys.executable, "-c", KILL_MIDWAY, str(out), TEXT], stdout=subprocess.PIPE, text=True)
    assert killed.stdout.readline().strip() == "saving"
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    debris = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert debris and all(name.startswith(f".model.{killed.pid}.") for name in debris)
    assert snapshot(out) == model and toolkit.load(out).generate("the", max_tokens=3)
    done = subprocess.run([*train, "--overwrite"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.txt", "model"]


def test_a_model_moved_aside_by_a_killed_save_is_put_back(tmp_path):
    """Killed between moving the old model aside and renaming the new one in: the next write restores it."""
    from toolkit import atomic

    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT)
    out = tmp_path / "model"
    subprocess.run([str(TEXTGEN), "train", "bigram", "--corpus", str(corpus), "--out", str(out)], check=True,
                   capture_output=True)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    aside = tmp_path / f".model.{gone.stdout.strip()}.old.tmp"
    os.replace(out, aside)
    atomic.clean_debris(out)
    assert not aside.exists() and toolkit.load(out).generate("the", max_tokens=3)



def test_ctrl_c_during_the_swap_puts_the_old_folder_back_and_leaves_no_debris(tmp_path, monkeypatch):
    """Ctrl-C between the two renames of a folder swap: the old folder is back and nothing else is left."""
    from toolkit import atomic

    folder = tmp_path / "train-state"
    folder.mkdir()
    (folder / "state.json").write_text("old")
    real = os.replace
    calls = []

    def interrupted(src, dst):
        calls.append(dst)
        real(src, dst)
        if len(calls) == 1:  # the old folder has just been moved aside
            raise KeyboardInterrupt

    monkeypatch.setattr(atomic.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        with atomic.directory(folder) as tmp:
            (tmp / "state.json").write_text("new")
    assert (folder / "state.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train-state"]


def test_a_signal_during_the_swap_waits_until_the_swap_is_done(tmp_path, monkeypatch):
    """SIGINT sent while the renames run is held until they are done, then delivered."""
    from toolkit import atomic

    real = atomic._swap_in

    def signalled(*args):
        os.kill(os.getpid(), signal.SIGINT)
        real(*args)

    monkeypatch.setattr(atomic, "_swap_in", signalled)
    folder = tmp_path / "train-state"
    with pytest.raises(KeyboardInterrupt):
        with atomic.directory(folder) as tmp:
            (tmp / "state.json").write_text("new")
    assert (folder / "state.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train-state"]


def test_debris_of_a_killed_writer_does_not_block_resuming(tmp_path):
    """An interrupted run's ``--out`` holding our temporary names beside ``train-state`` is still resumable."""
    from toolkit.outpaths import check_model_out

    out = tmp_path / "model"
    (out / "train-state").mkdir(parents=True)
    (out / ".train-state.99999999.kvq_9bjc.tmp").mkdir()
    assert check_model_out(out) == out
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"notes\.txt"):
        check_model_out(out)
