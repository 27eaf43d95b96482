"""The ``textgen`` command: train, generate, score with --json, and one-line errors for mistakes."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from toolkit.cli import main
from toolkit.generator import MANIFEST

TEXTGEN = Path(sys.executable).with_name("textgen")
TEXT = "the cat sat on the mat. the dog sat on the log. a cat and a dog met on a mat.\n" * 20


@pytest.fixture()
def cli(capsys, monkeypatch):
    """Run ``textgen ARGS`` in this process; returns (exit code, stdout, stderr).

    `main` sets the process's warning format and filters, as a command may; they are put back after.
    """
    monkeypatch.setattr(warnings, "formatwarning", warnings.formatwarning)

    def run(*args: str) -> tuple[int, str, str]:
        with warnings.catch_warnings():
            code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.fixture()
def corpus_file(tmp_path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text(TEXT)
    return path


@pytest.fixture()
def trained(cli, corpus_file, tmp_path) -> Path:
    code, _, err = cli("train", "bigram", "--corpus", corpus_file, "--out", tmp_path / "model", "-o", "smoothing=0.2")
    assert code == 0, err
    return tmp_path / "model"


def test_train_json_reports_val_bpc(cli, corpus_file, tmp_path):
    code, out, err = cli("train", "bigram", "--corpus", corpus_file, "--out", tmp_path / "m", "--json",
                         "-o", "smoothing=0.5", "--seed", "3")
    assert code == 0, err
    result = json.loads(out)
    assert 0 < result["val_bpc"] < 8 and result["plugin"] == "bigram" and result["seed"] == 3
    assert result["options"] == {"smoothing": 0.5}
    assert result["corpus"]["val_chars"] == len(TEXT) - int(len(TEXT) * 0.9)
    assert json.loads((tmp_path / "m" / MANIFEST).read_text())["training"]["val_bpc"] == result["val_bpc"]


def test_train_plain_output(cli, corpus_file, tmp_path):
    code, out, _ = cli("train", "bigram", "--corpus", corpus_file, "--out", tmp_path / "m")
    assert code == 0 and "bits per character" in out and str(tmp_path / "m") in out


def test_generate_json_gives_samples(cli, trained):
    code, out, err = cli("generate", trained, "--prompt", "the ", "--max-tokens", "20", "--num-samples", "3",
                         "--seed", "5", "--temperature", "0.8", "--top-k", "5", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert len(result["samples"]) == 3 and all(len(s) == 20 for s in result["samples"])
    assert result["temperature"] == 0.8 and result["top_k"] == 5 and result["plugin"] == "bigram"
    again = json.loads(cli("generate", trained, "--prompt", "the ", "--max-tokens", "20", "--num-samples", "3",
                           "--seed", "5", "--temperature", "0.8", "--top-k", "5", "--json")[1])
    assert again["samples"] == result["samples"]


def test_generate_plain_and_stream_agree(cli, trained):
    code, out, err = cli("generate", trained, "--prompt", "the", "--max-tokens", "30", "--seed", "2", "--stop", "og")
    assert code == 0 and "tokens/s" in err
    plain = out
    code, out, _ = cli("generate", trained, "--prompt", "the", "--max-tokens", "30", "--seed", "2", "--stop", "og",
                       "--stream")
    assert code == 0 and out == plain and "og" not in out[3:]


def test_stop_accepts_backslash_n_as_typed_in_a_shell(cli, trained):
    code, out, _ = cli("generate", trained, "--max-tokens", "300", "--seed", "1", "--stop", "\\n", "--json")
    sample = json.loads(out)["samples"][0]
    assert code == 0 and "\n" not in sample and 0 < len(sample) < 300
    full = json.loads(cli("generate", trained, "--max-tokens", "300", "--seed", "1", "--json")[1])["samples"][0]
    assert sample == full[: full.index("\n")]


def test_unknown_prompt_characters_are_one_warning_line(trained):
    out = subprocess.run([str(TEXTGEN), "generate", str(trained), "--prompt", "\u2603 the", "--max-tokens", "5",
                          "--json"], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0 and len(json.loads(out.stdout)["samples"][0]) == 5
    assert out.stderr.splitlines() == ["textgen: warning: bigram: the prompt has 1 piece(s) outside the vocabulary, "
                                "treated as unknown: '\u2603'"]


def test_score_json_gives_bpc(cli, trained, tmp_path):
    text = tmp_path / "text.txt"
    text.write_text("the dog sat on the mat.\n")
    code, out, err = cli("score", trained, "--text-file", text, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["chars"] == 24 and 0 < result["bpc"] < 8
    assert result["bpc"] == pytest.approx(result["nats"] / 24 / 0.6931471805599453)


def test_plugins_and_options(cli):
    code, out, _ = cli("plugins", "--json")
    assert code == 0 and any(row["name"] == "bigram" and row["ok"] for row in json.loads(out))
    code, out, _ = cli("options", "bigram", "--json")
    sections = json.loads(out)
    assert [row["name"] for row in sections["bigram (textgen train bigram -o key=value)"]] == ["smoothing"]
    assert "temperature" in [row["name"] for row in sections["sampling (textgen generate)"]]


def one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("textgen: error: "), err
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize(("flag", "value", "name"), [
    ("--temperature", "-1", "temperature"), ("--top-p", "0", "top_p"), ("--top-p", "1.5", "top_p"),
    ("--top-k", "-3", "top_k"), ("--temperature", "nan", "temperature"), ("--max-tokens", "-1", "max_tokens"),
    ("--num-samples", "0", "num_samples"), ("--seed", "-1", "seed"),
])
def test_bad_sampling_values(cli, trained, flag, value, name):
    one_line_error(*cli("generate", trained, flag, value)[::2], name)


def test_missing_corpus(cli, tmp_path):
    code, _, err = cli("train", "bigram", "--corpus", tmp_path / "nope.txt", "--out", tmp_path / "m")
    one_line_error(code, err, "nope.txt", "neither a file, a folder nor a named corpus")
    assert not (tmp_path / "m").exists()


def test_non_utf8_corpus(cli, tmp_path):
    (tmp_path / "latin.txt").write_bytes("caf\u00e9\n".encode("latin-1") * 20)
    code, _, err = cli("train", "bigram", "--corpus", tmp_path / "latin.txt", "--out", tmp_path / "m")
    one_line_error(code, err, "latin.txt is not UTF-8", "offset 3")


def test_unknown_plugin(cli, corpus_file, tmp_path):
    code, _, err = cli("train", "nosuch", "--corpus", corpus_file, "--out", tmp_path / "m")
    one_line_error(code, err, "no plugin named 'nosuch'", "bigram")


@pytest.mark.parametrize(("option", "fragments"), [
    ("smoothing=abc", ("smoothing='abc'",)),
    ("smoothing=-1", ("smoothing='-1'", "greater than 0")),
    ("smoothin=0.1", ("unknown bigram option 'smoothin'", "known: smoothing")),
    ("smoothing", ("option 'smoothing' is not key=value",)),
])
def test_bad_plugin_option(cli, corpus_file, tmp_path, option, fragments):
    code, _, err = cli("train", "bigram", "--corpus", corpus_file, "--out", tmp_path / "m", "-o", option)
    one_line_error(code, err, *fragments)


def test_corrupt_model_dir(cli, trained, tmp_path):
    (trained / MANIFEST).write_text("{oops")
    one_line_error(*cli("generate", trained)[::2], "corrupt textgen.json")
    one_line_error(*cli("score", trained, "--text-file", trained / "x")[::2], "corrupt textgen.json")
    one_line_error(*cli("generate", tmp_path / "absent")[::2], "no model directory")


def test_score_without_text(cli, trained, tmp_path):
    one_line_error(*cli("score", trained)[::2], "--text-file")
    one_line_error(*cli("score", trained, "--text-file", tmp_path / "absent.txt")[::2], "cannot read")


def test_real_command_prints_no_traceback(tmp_path):
    """The installed entry point, in its own process: one line on stderr, exit status 2."""
    (tmp_path / "bin.txt").write_bytes(b"text\x00more" * 10)
    out = subprocess.run([str(TEXTGEN), "train", "bigram", "--corpus", str(tmp_path / "bin.txt"),
                          "--out", str(tmp_path / "m")], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr == f"textgen: error: {tmp_path / 'bin.txt'} looks binary: NUL byte at offset 4\n"
    version = subprocess.run([str(TEXTGEN), "--version"], capture_output=True, text=True, timeout=60, check=True)
    assert version.stdout.strip() == "0.1.0"
