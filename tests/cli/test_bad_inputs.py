"""Bad inputs through the real ``textgen`` command, each in its own process (issue 15).

Every row of `CASES` is run once, a few at a time, against one shared folder of the
user's files and tiny models. Each row asserts its exit code, one ``textgen:`` line
(an error, or a warning for flags that do not apply) with no traceback, and that every
file that existed before the call, above all its ``--out`` target and the model
folders, is byte-for-byte unchanged afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from files import snapshot

import toolkit
from toolkit.data.corpora import Corpus
from toolkit.modeldir import MANIFEST

TEXTGEN = Path(sys.executable).with_name("textgen")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TEXT = "the cat sat on the mat. the dog sat on the log. a cat and a dog met on a mat.\n" * 20


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]  #: ``{name}`` is replaced by the path of that entry of the world folder
    code: int
    says: tuple[str, ...]  #: fragments of the one ``textgen: error:`` (or, with code 0, warning) line
    env: dict[str, str] = field(default_factory=dict)
    quiet: bool = True  #: stderr is that one line and nothing else (compare also prints progress)


def case(id: str, args: str, *says: str, code: int = 2, env: dict[str, str] | None = None,
         quiet: bool = True) -> Case:
    return Case(id, tuple(args.split("|")), code, says, env or {}, quiet)


Done = subprocess.CompletedProcess
MARKOV = "generate|{markov}|--max-tokens|5|--json"
TRAIN = "train|markov|--corpus|{corpus}|--out"
IMPOSTOR = {"PYTHONPATH": "{@}impostor_plugins"}  # a fixture distribution that also claims `markov`
COMPARE = "compare|{markov}|--corpus|{corpus}|--samples|1|--temperatures|1|--max-tokens|5|--prompt|the"

CASES = [
    # -- 1. --out never destroys what is not a model
    case("out-regular-file", f"{TRAIN}|{{notes.txt}}", "notes.txt' is an existing file", "will not replace"),
    case("out-file-overwrite", f"{TRAIN}|{{notes.txt}}|--overwrite", "is an existing file"),
    case("out-symlink-to-file", f"{TRAIN}|{{link-to-notes}}", "is an existing file"),
    case("out-user-folder", f"{TRAIN}|{{thesis}}", "not a textgen model folder", "thesis.tex"),
    case("out-user-folder-overwrite", f"{TRAIN}|{{thesis}}|--overwrite", "not a textgen model folder"),
    case("out-empty-string", f"{TRAIN}|", "--out is empty"),
    case("out-dot", f"{TRAIN}|.", "--out '.'", "current directory"),
    case("out-cwd-other-name", f"{TRAIN}|../here", "--out '../here'", "current directory"),
    case("out-parent-of-cwd", f"{TRAIN}|..", "current directory or holds it"),
    case("out-existing-model", f"{TRAIN}|{{markov}}", "already holds a 'markov' model", "--overwrite"),
    case("out-model-other-plugin", "train|bigram|--corpus|{corpus}|--out|{markov}", "'markov' model", "--overwrite"),
    case("out-model-other-level", f"{TRAIN}|{{bigram}}|--level|word", "already holds a 'bigram' model"),
    case("out-unwritable", f"{TRAIN}|/proc/textgen-out", "cannot write --out", "not writable"),
    case("out-unwritable-lstm-fails-fast", "train|lstm|--corpus|{corpus}|--out|/proc/textgen-out|-o|max_steps=2",
         "cannot write --out"),
    case("out-under-a-file", f"{TRAIN}|{{notes.txt}}/model", "cannot write --out", "Not a directory"),
    case("compare-out-file", f"{COMPARE}|--out|{{notes.txt}}", "is an existing file"),
    case("compare-out-user-folder", f"{COMPARE}|--out|{{thesis}}", "not a textgen report folder"),
    case("compare-out-empty", f"{COMPARE}|--out|", "--out is empty"),
    case("compare-out-dot", f"{COMPARE}|--out|.", "current directory"),
    case("compare-out-model", f"{COMPARE}|--out|{{markov}}", "not a textgen report folder"),
    case("compare-broken-model", "compare|{markov}|{corrupt-model}|--corpus|{corpus}|--prompt|the|--out|{new}",
         "corrupt textgen.json", quiet=False),
    # -- corpora and their encodings
    case("corpus-missing", "train|markov|--corpus|{nowhere.txt}|--out|{new}", "neither a file, a folder"),
    case("corpus-empty", "train|markov|--corpus|{empty.txt}|--out|{new}", "is empty"),
    case("corpus-binary", "train|markov|--corpus|{binary.bin}|--out|{new}", "looks binary"),
    case("corpus-utf16-bom", "train|markov|--corpus|{utf16.txt}|--out|{new}", "UTF-16", "byte-order mark", "iconv"),
    case("corpus-utf16be-no-bom", "train|markov|--corpus|{utf16be.txt}|--out|{new}", "UTF-16 (big-endian"),
    case("corpus-latin1", "train|markov|--corpus|{latin1.txt}|--out|{new}", "is not UTF-8", "0xe9"),
    case("corpus-empty-folder", "train|markov|--corpus|{empty-folder}|--out|{new}", "holds no .txt files"),
    case("corpus-val-fraction", "train|markov|--corpus|{corpus}|--out|{new}|--val-fraction|1.5", "val_fraction"),
    case("corpus-bad-column", "train|markov|--corpus|{corpus}|--out|{new}|--column|5", "no column '5'"),
    case("corpus-too-short", "train|markov|--corpus|{short.txt}|--out|{new}", "too short"),
    # -- training options and flags
    case("train-unknown-plugin", "train|nosuch|--corpus|{corpus}|--out|{new}", "nosuch"),
    case("train-unknown-option", "train|markov|--corpus|{corpus}|--out|{new}|-o|nosuch=1", "unknown markov option"),
    case("train-bad-option-value", "train|markov|--corpus|{corpus}|--out|{new}|-o|state_size=0", "state_size"),
    case("train-option-not-pair", "train|markov|--corpus|{corpus}|--out|{new}|-o|state_size", "is not key=value"),
    case("train-markov-device", "train|markov|--corpus|{corpus}|--out|{new}|--device|cuda",
         "--device does not apply to markov"),
    case("train-markov-max-seconds", "train|markov|--corpus|{corpus}|--out|{new}|--max-seconds|5",
         "--max-seconds does not apply to markov"),
    case("train-bigram-level", "train|bigram|--corpus|{corpus}|--out|{new}|--level|char",
         "--level does not apply to bigram"),
    case("train-lr-inf", "train|lstm|--corpus|{corpus}|--out|{new}|-o|lr=inf", "lr", "finite"),
    case("train-lr-zero", "train|lstm|--corpus|{corpus}|--out|{new}|-o|lr=0", "lr"),
    case("train-seed-negative", "train|markov|--corpus|{corpus}|--out|{new}|--seed|-1", "seed must be a whole number"),
    case("train-seed-huge", f"train|lstm|--corpus|{{corpus}}|--out|{{new}}|--seed|{2**70}",
         "seed must be a whole number"),
    case("train-absurd-result-warned", "train|lstm|--corpus|{corpus}|--out|{made-absurd}|-o|lr=1e4|-o|warmup_steps=0"
         "|-o|max_steps=20|-o|eval_every=5|-o|hidden_size=16|-o|embedding_size=8|-o|batch_size=4|-o|seq_len=16"
         "|-o|progress=false", "worse than a uniform guess", "lower lr", code=0, quiet=False),
    case("train-missing-out", "train|markov|--corpus|{corpus}", "required", "--out"),
    case("train-bad-level", "train|markov|--corpus|{corpus}|--out|{new}|--level|sentence", "invalid choice"),
    case("train-seed-not-int", "train|markov|--corpus|{corpus}|--out|{new}|--seed|x", "--seed", "invalid int"),
    # -- model directories
    case("model-missing", "generate|{nowhere}", "no model directory"),
    case("model-user-folder", "generate|{thesis}", "not a textgen model directory"),
    case("model-corrupt-manifest", "generate|{corrupt-model}", "corrupt textgen.json"),
    case("model-needs-plugin", "generate|{orphan-model}", "needs plugin 'nosuch'"),
    case("model-wrong-plugin", "generate|{markov}|--plugin|bigram", "is a 'markov' model, not 'bigram'"),
    case("options-unknown-plugin", "options|nosuch", "nosuch"),
    case("model-format-newer", "generate|{future-model}", "format version 99", "Upgrade"),
    case("model-pickle-only-gpt2", "generate|{pickle-gpt2}", "only safetensors weights are loaded", "convert with"),
    # -- plugins: a contested name is never resolved silently, a plugin's bug is named
    case("collision-train", f"{TRAIN}|{{new}}", "textgen-markov", "textgen-impostor-fixture", env=IMPOSTOR),
    case("collision-options", "options|markov", "textgen-markov", "textgen-impostor-fixture", env=IMPOSTOR),
    case("plugin-bug-named", "generate|{buggy-model}|--max-tokens|5",
         "plugin 'buggy-fixture'", "failed in its decode method", "--debug", env=IMPOSTOR),
    # -- generation and sampling
    case("sample-temperature", f"{MARKOV}|--temperature|-1", "temperature"),
    case("sample-temperature-nan", f"{MARKOV}|--temperature|nan", "temperature"),
    case("sample-top-p", f"{MARKOV}|--top-p|0", "top_p"),
    case("sample-top-k-text", f"{MARKOV}|--top-k|x", "--top-k", "invalid int"),
    case("sample-max-tokens", f"{MARKOV}|--max-tokens|-1", "max_tokens"),
    case("sample-num-samples", f"{MARKOV}|--num-samples|0", "num_samples"),
    case("sample-seed", f"{MARKOV}|--seed|-1", "seed"),
    case("stream-with-json", f"{MARKOV}|--stream", "--json and --stream"),
    case("stream-many-samples", "generate|{markov}|--stream|--num-samples|2", "--stream shows one sample"),
    case("prompt-file-missing", f"{MARKOV}|--prompt-file|{{nowhere.txt}}", "--prompt-file", "cannot read"),
    case("prompt-file-utf16", f"{MARKOV}|--prompt-file|{{utf16.txt}}", "UTF-16"),
    case("prompt-and-prompt-file", f"{MARKOV}|--prompt|x|--prompt-file|{{corpus}}", "not allowed with"),
    case("device-for-markov-generate", f"{MARKOV}|--device|cpu", "--device cpu does not apply to markov",
         code=0),
    case("device-for-markov-score", "score|{markov}|--text-file|{corpus}|--device|cuda",
         "--device cuda does not apply", code=0),
    case("offline-pretrained", "generate|gpt2:gpt2", "HF_HUB_OFFLINE is set", env={"HF_HUB_OFFLINE": "1"}),
    case("unreachable-hub", "generate|gpt2:textgen-no-such-model", "cannot be reached",
         env={"HF_HUB_OFFLINE": "", "HF_ENDPOINT": "http://127.0.0.1:9"}),
    # -- scoring
    case("score-unknown-chars-warned", "score|{bigram}|--text-file|{snowman.txt}", "scored text has 1 piece",
         "outside the vocabulary", code=0),
    case("score-nothing", "score|{markov}", "give --text-file"),
    case("score-empty-text", "score|{markov}|--text-file|{empty.txt}", "empty text"),
    case("score-utf16-no-bom", "score|{markov}|--text-file|{utf16le.txt}", "UTF-16 (little-endian, no byte-order"),
    case("score-binary", "score|{markov}|--text-file|{binary.bin}", "looks binary"),
    case("score-unknown-corpus", "score|{markov}|--corpus|{nowhere.txt}", "neither a file"),
    # -- compare
    case("compare-no-prompt", "compare|{markov}|--corpus|{corpus}", "--prompt", quiet=False),
    case("compare-temperatures", f"{COMPARE}|--temperatures|hot", "--temperatures", quiet=False),
    case("compare-prompt-file-missing", f"{COMPARE}|--prompt-file|{{nowhere.txt}}", "--prompt-file", "cannot read"),
    case("compare-missing-extra", COMPARE, "needs scikit-learn", "textgen-toolkit[compare]",
         env={"PYTHONPATH": "{no-sklearn}"}),
    # -- dashboard and the command itself
    case("dashboard-models-file", "dashboard|--models|{notes.txt}", "is not a folder"),
    case("dashboard-port", "dashboard|--port|0", "--port"),
    case("unknown-command", "bogus", "invalid choice"),
]


def _write_world(root: Path) -> None:
    """The user's files, bad inputs, and tiny models, all checksummed around every case."""
    (root / "here").mkdir()
    (root / "here" / "keep.txt").write_text("the user's own work\n")
    (root / "corpus").write_text(TEXT)
    (root / "notes.txt").write_text("precious notes\n")
    (root / "link-to-notes").symlink_to(root / "notes.txt")
    (root / "thesis").mkdir()
    (root / "thesis" / "thesis.tex").write_text("\\section{Results}\n")
    (root / "empty.txt").write_text("")
    (root / "short.txt").write_text("a\n")
    (root / "empty-folder").mkdir()
    (root / "binary.bin").write_bytes(bytes(range(256)) * 4)
    (root / "utf16.txt").write_bytes(TEXT.encode("utf-16"))
    (root / "utf16le.txt").write_bytes(TEXT.encode("utf-16-le"))
    (root / "utf16be.txt").write_bytes(TEXT.encode("utf-16-be"))
    (root / "latin1.txt").write_bytes("café au lait\n".encode("latin-1") * 10)
    (root / "snowman.txt").write_text("the cat ☃ sat\n")
    toolkit.train("markov", Corpus("tiny", TEXT), out=root / "markov", state_size=2)
    toolkit.train("bigram", Corpus("tiny", TEXT), out=root / "bigram", smoothing=0.1)
    (root / "corrupt-model").mkdir()
    (root / "corrupt-model" / MANIFEST).write_text("{not json")
    orphan = json.loads((root / "bigram" / MANIFEST).read_text())
    (root / "orphan-model").mkdir()
    (root / "orphan-model" / MANIFEST).write_text(json.dumps({**orphan, "plugin": "nosuch"}))
    future = json.loads((root / "markov" / MANIFEST).read_text())
    (root / "future-model").mkdir()
    (root / "future-model" / MANIFEST).write_text(json.dumps({**future, "format_version": 99}))
    (root / "pickle-gpt2").mkdir()
    (root / "pickle-gpt2" / "config.json").write_text('{"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"]}')
    (root / "pickle-gpt2" / "pytorch_model.bin").write_bytes(b"not unpickled")
    subprocess.run([str(TEXTGEN), "train", "buggy-fixture", "--corpus", str(root / "corpus"), "--out",
                    str(root / "buggy-model")], env={**os.environ, "PYTHONPATH": str(FIXTURES / "impostor_plugins")},
                   check=True, capture_output=True)
    (root / "report").mkdir()
    (root / "report" / "report.json").write_text('{"models": []}\n')
    (root / "report" / "report.md").write_text("| model |\n")
    (root / "no-sklearn" / "sklearn").mkdir(parents=True)
    (root / "no-sklearn" / "sklearn" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'sklearn'\", name='sklearn')\n")


def _argv(case: Case, root: Path) -> list[str]:
    def fill(arg: str) -> str:
        arg = arg.replace("{new}", f"{{new-{case.id}}}").replace("{@}", f"{FIXTURES}/")  # a fresh --out of its own
        while "{" in arg:
            start, end = arg.index("{"), arg.index("}")
            arg = arg[:start] + str(root / arg[start + 1:end]) + arg[end + 1:]
        return arg

    return [fill(a) for a in case.args]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], dict[str, Done]]:
    """Build the folder, run every case against it (three at a time), and snapshot it before and after."""
    root = tmp_path_factory.mktemp("world")
    _write_world(root)
    before = snapshot(root)

    def run(case: Case) -> subprocess.CompletedProcess:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", **{k: _argv(Case("", (v,), 0, ()), root)[0]
                                                       for k, v in case.env.items()}}
        return subprocess.run([str(TEXTGEN), *_argv(case, root)], cwd=root / "here", env=env, capture_output=True,
                              text=True, timeout=300, check=False)

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = dict(zip([c.id for c in CASES], pool.map(run, CASES), strict=True))
    return root, before, results


def test_the_matrix_is_big_and_its_ids_unique():
    assert len(CASES) >= 60 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, world) -> None:
    root, before, results = world
    done = results[case.id]
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    assert done.returncode == case.code, done.stderr
    kind = "error" if case.code else "warning"
    lines = [line for line in done.stderr.splitlines() if line.startswith("textgen: ")]
    assert len(lines) == 1 and lines[0].startswith(f"textgen: {kind}: "), done.stderr
    if case.quiet:
        assert done.stderr.strip() == lines[0], done.stderr
    for fragment in case.says:
        assert fragment in lines[0], lines[0]
    after = snapshot(root)
    for arg in _argv(case, root):  # the targets this case named: the same bytes, and nothing new inside
        key = str(Path(arg).relative_to(root)) if arg.startswith(f"{root}/") else None
        if key in before:
            assert {k: v for k, v in after.items() if k == key or k.startswith(key + "/")} == \
                   {k: v for k, v in before.items() if k == key or k.startswith(key + "/")}


def test_nothing_that_existed_changed_and_no_debris(world) -> None:
    root, before, _ = world
    after = snapshot(root)
    assert {k: after.get(k) for k in before} == before
    assert not [k for k in after if Path(k).name.endswith(".tmp")]
    assert not list(root.glob("new-*"))  # every case failed before it wrote anything


def test_compare_with_a_model_that_fails_midway_writes_its_report_with_an_error_row(tmp_path, world):
    root = world[0]
    out = tmp_path / "report"
    done = subprocess.run([str(TEXTGEN), "compare", str(root / "markov"), str(root / "buggy-model"), "--corpus",
                           str(root / "corpus"), "--prompt", "the", "--samples", "1", "--temperatures", "1",
                           "--max-tokens", "5", "--out", str(out)], capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(FIXTURES / "impostor_plugins")})
    assert done.returncode == 1 and "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("textgen: error:")]
    assert len(errors) == 1 and "1 of 2 model(s) failed" in errors[0], done.stderr
    report = json.loads((out / "report.json").read_text())
    assert [m["label"] for m in report["models"]] == ["markov"]
    assert [f["label"] for f in report["failed"]] == ["buggy-model"] and "IndexError" in report["failed"][0]["error"]


TINY_LSTM = ("-o", "hidden_size=16", "-o", "embedding_size=8", "-o", "batch_size=4", "-o", "seq_len=16",
             "-o", "eval_every=2", "-o", "progress=false")


def test_a_poisoned_train_state_is_never_resumed_through_the_cli(tmp_path):
    """A run interrupted with non-finite weights in ``train-state`` never poisons the next run into that --out."""
    import math

    from toolkit.neural import read_checkpoint, save_tensors

    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT)
    out = tmp_path / "model"
    train = [str(TEXTGEN), "train", "lstm", "--corpus", str(corpus), "--out", str(out), "--json", *TINY_LSTM]
    running = subprocess.Popen([*train, "-o", "max_steps=1000000"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (out / "train-state" / "state.json").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    running.send_signal(signal.SIGINT)  # Ctrl-C: the loop saves a resumable checkpoint and stops
    running.wait(timeout=120)
    tensors, _ = read_checkpoint(out / "train-state")
    name = next(k for k in tensors if k.startswith("model."))
    save_tensors(out / "train-state" / "state.safetensors", {**tensors, name: tensors[name] * math.inf})

    done = subprocess.run([*train, "-o", "max_steps=8"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "not resuming" in done.stderr and "non-finite weights" in done.stderr
    assert json.loads(done.stdout)["resumed_from"] is None
    assert toolkit.load(out).generate("the", max_tokens=3, seed=0)
