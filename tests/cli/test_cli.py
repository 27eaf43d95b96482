"""The ``textgen`` command: train, generate, score with --json, and one-line errors for mistakes."""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from toolkit.cli import main
from toolkit.modeldir import MANIFEST

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
    assert "counting operations (1 per token: one count update per token" in out  # a one-pass build's cost


def test_train_max_flops_trains_to_the_budget_and_says_so(cli, corpus_file, tmp_path):
    pytest.importorskip("torch")
    tiny = ["-o", "hidden_size=16", "-o", "embedding_size=8", "-o", "batch_size=4", "-o", "seq_len=16",
            "-o", "eval_tokens=256", "-o", "cpu_threads=1", "--device", "cpu"]
    code, out, err = cli("train", "lstm", "--corpus", corpus_file, "--out", tmp_path / "m", "--max-flops", "2e8",
                         *tiny)
    assert code == 0, err
    compute = json.loads((tmp_path / "m" / MANIFEST).read_text())["training"]["compute"]
    assert compute["budget"] == {"unit": "flops", "value": 2e8} and compute["flops"] <= 2e8
    assert compute["flops"] > 2e8 - 4 * 16 * compute["flops_per_token"]  # whole steps, rounded down
    assert "compute: " in out and "training FLOPs" in out and "budget flops=2e+08" in out


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


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    from toolkit.cli import build_parser

    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize("name", sorted(_subcommands()))
def test_every_flag_has_help_with_its_default_and_every_command_an_example(name):
    parser = _subcommands()[name]
    text = parser.format_help()
    assert "example" in text and f"textgen {name}" in text.split("example")[-1]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"{name} {action.dest} has no help"
        nothing = action.default is None or action.default is False or action.default in ("", argparse.SUPPRESS)
        if action.option_strings and not nothing:
            assert f"default: {action.default}" in " ".join(parser._get_formatter()._expand_help(action).split()), \
                f"{name} {action.option_strings[0]} does not show its default"


def test_sampling_flags_state_the_defaults_the_options_model_has():
    from toolkit.cli import SAMPLING_FLAGS
    from toolkit.generation.sampling import SamplingOptions

    for flag, (name, _, text) in SAMPLING_FLAGS.items():
        assert f"(default: {SamplingOptions.model_fields[name].default}" in text, flag


def test_options_lists_literal_values_in_aligned_columns(cli):
    code, out, _ = cli("options", "lstm")
    assert code == 0
    rows = [line for line in out.splitlines() if line.startswith("  ")]
    device = next(line for line in rows if line.split()[0] == "device")
    assert "auto|cpu|cuda|mps" in device and "float | None" in next(r for r in rows if r.split()[0] == "min_lr")
    section = [r for r in rows if r.split()[0] in {"min_lr", "device", "grad_clip", "level"}]
    assert len({r.index("default ") for r in section}) == 1, "the default column is not aligned"


def test_prompt_file_gives_the_same_text_as_the_prompt(cli, trained, tmp_path):
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("the cat")
    by_flag = cli("generate", trained, "--prompt", "the cat", "--max-tokens", "8", "--seed", "2")
    by_file = cli("generate", trained, "--prompt-file", prompt, "--max-tokens", "8", "--seed", "2")
    assert by_flag[0] == by_file[0] == 0 and by_flag[1] == by_file[1] and by_file[1].startswith("the cat")


def test_compare_takes_a_prompt_from_a_file(cli, trained, corpus_file, tmp_path):
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("the dog")
    code, out, err = cli("compare", trained, "--corpus", corpus_file, "--prompt-file", prompt, "--samples", "1",
                         "--temperatures", "1", "--max-tokens", "5", "--json")
    assert code == 0, err
    assert "the dog" in json.dumps(json.loads(out))


@pytest.mark.parametrize(("flags", "fragment"), [
    (["--max-flops", "0"], "max_flops=0.0: Input should be greater than 0"),
    (["--max-flops=-1e9"], "max_flops=-1000000000.0"),
    (["--max-flops", "nan"], "max_flops"),
    (["--max-flops", "1e9", "--max-seconds", "5"], "give max_seconds or max_flops, not both"),
])
def test_train_refuses_a_bad_flop_budget_in_one_line(cli, corpus_file, tmp_path, flags, fragment):
    pytest.importorskip("torch")
    code, _, err = cli("train", "lstm", "--corpus", corpus_file, "--out", tmp_path / "m", *flags)
    one_line_error(code, err, fragment)
    assert not (tmp_path / "m" / MANIFEST).exists()


def test_train_max_flops_does_not_apply_to_a_count_model(cli, corpus_file, tmp_path):
    code, _, err = cli("train", "bigram", "--corpus", corpus_file, "--out", tmp_path / "m", "--max-flops", "1e9")
    one_line_error(code, err, "--max-flops does not apply to bigram")


def test_overwrite_replaces_a_model_and_an_interrupted_run_is_resumed_into(cli, trained, corpus_file, tmp_path):
    code, _, err = cli("train", "bigram", "--corpus", corpus_file, "--out", trained, "-o", "smoothing=0.7")
    assert code == 2 and "--overwrite" in err
    code, _, err = cli("train", "bigram", "--corpus", corpus_file, "--out", trained, "-o", "smoothing=0.7",
                       "--overwrite")
    assert code == 0, err
    assert json.loads((trained / MANIFEST).read_text())["training"]["options"] == {"smoothing": 0.7}
    interrupted = tmp_path / "interrupted"
    (interrupted / "train-state").mkdir(parents=True)
    code, _, err = cli("train", "bigram", "--corpus", corpus_file, "--out", interrupted)
    assert code == 0, err


def test_the_python_api_refuses_to_replace_what_is_not_a_model(tmp_path):
    import toolkit
    from toolkit.data.corpora import Corpus
    from toolkit.outpaths import OutPathError

    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    with pytest.raises(OutPathError, match=r"out .*notes.txt' is an existing file"):
        toolkit.train("bigram", Corpus("tiny", TEXT), out=notes)
    model = toolkit.train("bigram", Corpus("tiny", TEXT))
    with pytest.raises(OutPathError, match=r"save path .*is an existing file"):
        model.save(notes)
    assert notes.read_text() == "mine"
    model.save(tmp_path / "m")
    with pytest.raises(OutPathError, match="already holds a 'bigram' model"):
        toolkit.train("bigram", Corpus("tiny", TEXT), out=tmp_path / "m")
    assert toolkit.train("bigram", Corpus("tiny", TEXT), out=tmp_path / "m", overwrite=True)



OLD_PATHS = {  # old import path -> its new home, which the old path now is
    "toolkit.comparison.cli": "toolkit.cli.compare",
    "toolkit.dashboard": "toolkit.cli.dashboard",
}
OLD_NAMES = {  # module -> (name that moved out of it, its new home)
    "toolkit.comparison": ("read_prompts", "toolkit.cli.compare:read_prompts"),
    "toolkit.demo": ("main", "toolkit.cli.demo:main"),
}


@pytest.mark.parametrize("old", sorted(OLD_PATHS))
def test_a_moved_cli_module_still_imports_and_warns_naming_its_new_path(old):
    code = (f"import importlib, warnings; warnings.simplefilter('error', DeprecationWarning)\n"
            f"try:\n    import {old}\nexcept DeprecationWarning as exc:\n    print(exc)\n"
            f"warnings.simplefilter('ignore', DeprecationWarning)\n"
            f"print(importlib.import_module({old!r}) is importlib.import_module({OLD_PATHS[old]!r}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    warning, same = out.stdout.splitlines()
    assert f"{old} has moved to {OLD_PATHS[old]}" in warning and same == "True", out.stdout


@pytest.mark.parametrize("old", sorted(OLD_NAMES))
def test_a_name_moved_out_of_a_module_still_works_and_warns_naming_its_new_path(old):
    name, new = OLD_NAMES[old]
    module, _, attr = new.partition(":")
    with pytest.warns(DeprecationWarning, match=f"{old}.{name} has moved to {module}.{attr}"):
        found = getattr(importlib.import_module(old), name)
    assert found is getattr(importlib.import_module(module), attr)


def test_every_device_flag_and_temperature_sweep_comes_from_one_place():
    from toolkit.generation.temperatures import DEFAULT_TEMPERATURES, format_temperatures, parse_temperatures
    from toolkit.machine import DEVICES
    from toolkit.options import TrainingOptions

    assert parse_temperatures(format_temperatures()) == list(DEFAULT_TEMPERATURES)
    assert TrainingOptions.model_fields["device"].annotation.__args__ == DEVICES
    for name, parser in _subcommands().items():
        for action in parser._actions:
            if action.dest == "device":
                assert tuple(action.choices) == DEVICES, name
            if action.dest == "temperatures":
                assert action.default == format_temperatures(), name
