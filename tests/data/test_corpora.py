"""Corpora: files, folders, CSV columns, normalisation, the split, named corpora, bad input."""

from __future__ import annotations

import hashlib
import re
import urllib.request
from pathlib import Path

import pytest

from toolkit.data.corpora import NAMED, Corpus, load_corpus, strip_gutenberg
from toolkit.errors import CorpusError

LINES = "First line.\nSecond line, a bit longer.\nThird.\n" * 10


def write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def test_text_file(tmp_path):
    corpus = load_corpus(write(tmp_path / "notes.txt", LINES))
    assert corpus.text == LINES and corpus.name == "notes"
    assert corpus.sha256 == hashlib.sha256(LINES.encode()).hexdigest()


def test_split_is_the_last_tenth(tmp_path):
    text = "".join(chr(ord("a") + i % 26) for i in range(1000))
    corpus = load_corpus(write(tmp_path / "abc.txt", text))
    assert corpus.train == text[:900] and corpus.val == text[900:]
    assert corpus.train + corpus.val == corpus.text
    again = load_corpus(tmp_path / "abc.txt", val_fraction=0.25)
    assert again.val == text[750:]
    described = corpus.describe()
    assert (described["train_chars"], described["val_chars"]) == (900, 100)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_bad_val_fraction(tmp_path, fraction):
    with pytest.raises(CorpusError, match="val_fraction"):
        load_corpus(write(tmp_path / "a.txt", LINES), val_fraction=fraction)


def test_folder_reads_its_text_files_in_order(tmp_path):
    (tmp_path / "sub").mkdir()
    write(tmp_path / "b.txt", "bravo " * 20 + "\n")
    write(tmp_path / "a.txt", "alpha " * 20 + "\n")
    write(tmp_path / "sub" / "c.md", "charlie " * 20 + "\n")
    write(tmp_path / "skip.png", b"\x89PNG\x00\x00")
    text = load_corpus(tmp_path).text
    assert text.index("alpha") < text.index("bravo") < text.index("charlie")
    assert "PNG" not in text


def test_folder_skips_hidden_files_and_folders(tmp_path):
    write(tmp_path / "a.txt", "alpha " * 20 + "\n")
    (tmp_path / ".git" / "objects").mkdir(parents=True)
    write(tmp_path / ".git" / "objects" / "1f2e", b"x\x9c\x00binary")  # no suffix, like git's objects
    write(tmp_path / ".DS_Store", b"\x00\x00\x00\x01Bud1")
    assert load_corpus(tmp_path).text == "alpha " * 20 + "\n"


def test_folder_without_text(tmp_path):
    write(tmp_path / "image.png", b"\x89PNG")
    with pytest.raises(CorpusError, match=r"no \.txt files"):
        load_corpus(tmp_path)


def test_bom_and_crlf_are_normalised(tmp_path):
    corpus = load_corpus(write(tmp_path / "win.txt", b"\xef\xbb\xbf" + LINES.replace("\n", "\r\n").encode()))
    assert corpus.text == LINES


def test_sherlock_file_has_bom_and_crlf_and_loads_clean(corpora_dir):
    raw = (corpora_dir / "sherlock.txt").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    corpus = load_corpus(corpora_dir / "sherlock.txt")
    assert "\r" not in corpus.text and not corpus.text.startswith("\ufeff")
    assert "Project Gutenberg" in corpus.text  # a plain path is not stripped by default


def test_named_sherlock_strips_gutenberg(corpora_dir, monkeypatch):
    monkeypatch.setenv("TEXTGEN_CORPORA", str(corpora_dir))
    corpus = load_corpus("sherlock")
    assert corpus.name == "sherlock" and corpus.source == str(corpora_dir / "sherlock.txt")
    assert "START OF THIS PROJECT GUTENBERG" not in corpus.text
    assert "End of the Project Gutenberg" not in corpus.text and "FULL PROJECT GUTENBERG LICENSE" not in corpus.text
    assert "To Sherlock Holmes she is always THE woman." in corpus.text
    assert len(corpus.text) > 500_000


def test_strip_gutenberg_markers():
    text = ("The Project Gutenberg EBook of X\nlicence\n*** START OF THIS PROJECT GUTENBERG EBOOK X ***\n\n"
            "Body line one.\nBody line two.\n\n*** END OF THIS PROJECT GUTENBERG EBOOK X ***\nmore licence\n")
    assert strip_gutenberg(text) == "Body line one.\nBody line two.\n"
    assert strip_gutenberg("No markers here.\n") == "No markers here.\n"


CSV = '"1","Title one","First description\\nwith an escaped newline"\n"2","Title, two","Second ""quoted"" one"\n'


def test_csv_column_with_escaped_newlines(tmp_path):
    path = write(tmp_path / "news.csv", CSV * 5)
    text = load_corpus(path).text  # CSV files default to the description column
    assert text.startswith("First description\nwith an escaped newline\nSecond \"quoted\" one\n")
    assert "\\n" not in text and "Title" not in text
    assert load_corpus(path, column="title").text.startswith("Title one\nTitle, two\n")
    assert load_corpus(path, column=0).text.startswith("1\n2\n")
    assert load_corpus(path, column="2").text == text


def test_csv_bad_column(tmp_path):
    path = write(tmp_path / "news.csv", CSV * 5)
    with pytest.raises(CorpusError, match="unknown column 'body'"):
        load_corpus(path, column="body")
    with pytest.raises(CorpusError, match="no column 7"):
        load_corpus(path, column=7)


def test_ag_news(corpora_dir, monkeypatch):
    monkeypatch.setenv("TEXTGEN_CORPORA", str(corpora_dir))
    corpus = load_corpus("ag_news")
    lines = corpus.text.splitlines()
    assert len(lines) >= 7600  # one description per row, some with unescaped newlines
    assert "\\n" not in corpus.text
    assert lines[0].startswith("Unions representing workers at Turner")
    assert load_corpus(corpora_dir / "ag_news_test.csv").text == corpus.text


@pytest.mark.parametrize("name", sorted(NAMED))
def test_named_corpora_match_the_published_sha256(corpora_dir, name):
    readme = (corpora_dir / "README.md").read_text()
    spec = NAMED[name]
    row = next(line for line in readme.splitlines() if f"`{spec.file}`" in line)
    published = re.search(r"`([0-9a-f]{64})`", row).group(1)
    assert spec.sha256 == published
    assert hashlib.sha256((corpora_dir / spec.file).read_bytes()).hexdigest() == published


def test_empty_file(tmp_path):
    with pytest.raises(CorpusError, match="empty"):
        load_corpus(write(tmp_path / "empty.txt", b""))
    with pytest.raises(CorpusError, match="empty"):
        load_corpus(write(tmp_path / "blank.txt", "\n\n  \n"))


def test_too_short_to_split(tmp_path):
    with pytest.raises(CorpusError, match="too short"):
        load_corpus(write(tmp_path / "short.txt", "ab\n"))  # validation part is only "\n"


def test_binary_file_names_file_and_offset(tmp_path):
    path = write(tmp_path / "model.bin", b"abc\x00def" * 10)
    with pytest.raises(CorpusError, match=re.escape(f"{path} looks binary: NUL byte at offset 3")):
        load_corpus(path)


def test_latin1_file_names_file_and_offset(tmp_path):
    path = write(tmp_path / "latin.txt", "Caf\u00e9 cr\u00e8me\n".encode("latin-1") * 5)
    with pytest.raises(CorpusError, match=re.escape(f"{path} is not UTF-8: byte 0xe9 at offset 3")):
        load_corpus(path)


def test_missing_path(tmp_path):
    with pytest.raises(CorpusError, match="neither a file, a folder nor a named corpus"):
        load_corpus(tmp_path / "nope.txt")


def test_missing_named_corpus_offline(tmp_path, monkeypatch):
    (tmp_path / "corpora").mkdir()
    monkeypatch.setenv("TEXTGEN_CORPORA", str(tmp_path / "corpora"))
    monkeypatch.setenv("TEXTGEN_CACHE", str(tmp_path / "cache"))
    calls = []

    def offline(url, *args, **kwargs):
        calls.append(url)
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(CorpusError, match=r"'tinyshakespeare' is not available offline.*TEXTGEN_CORPORA") as info:
        load_corpus("tinyshakespeare")
    assert str(tmp_path / "cache") in str(info.value)
    assert calls == [NAMED["tinyshakespeare"].url]
    assert not (tmp_path / "cache" / "corpora" / "tinyshakespeare.txt").exists()


def test_download_with_wrong_checksum_is_refused_and_a_good_one_is_cached(tmp_path, monkeypatch, corpora_dir):
    monkeypatch.setenv("TEXTGEN_CORPORA", str(tmp_path / "none"))
    monkeypatch.setenv("TEXTGEN_CACHE", str(tmp_path / "cache"))
    payload = {"data": b"tampered text\n" * 100}

    class Response:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self):
            return payload["data"]

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: Response())
    with pytest.raises(CorpusError, match="sha256"):
        load_corpus("sherlock")
    payload["data"] = (corpora_dir / "sherlock.txt").read_bytes()
    assert load_corpus("sherlock").source == str(tmp_path / "cache" / "corpora" / "sherlock.txt")
    payload["data"] = b""  # now served from the cache
    assert "Sherlock" in load_corpus("sherlock").text


def test_corpus_is_a_value():
    assert Corpus("a", "x" * 50).val == "x" * 5
