"""Corpora: read text from a file, a folder or a CSV column, normalise it, split it.

Named public corpora are looked up in ``$TEXTGEN_CORPORA`` first, then in the cache,
then downloaded once from their public address and checked against their sha256.
The split is deterministic: the last ``val_fraction`` of the characters is held out,
as nanoGPT does for Tiny Shakespeare, so figures are comparable with it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .. import atomic
from ..errors import CorpusError


@dataclass(frozen=True)
class NamedCorpus:
    file: str
    url: str
    sha256: str
    column: str | None = None  # for CSV corpora
    strip_gutenberg: bool = False


NAMED: dict[str, NamedCorpus] = {
    "tinyshakespeare": NamedCorpus(
        "tinyshakespeare.txt",
        "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
        "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
    ),
    "sherlock": NamedCorpus(
        "sherlock.txt",
        "https://raw.githubusercontent.com/jsvine/markovify/master/test/texts/sherlock.txt",
        "242ec73a70f0a03dcbe007e32038e7deeaee004aaec9a09a07fa322743440fa8",
        strip_gutenberg=True,
    ),
    "ag_news": NamedCorpus(
        "ag_news_test.csv",
        "https://raw.githubusercontent.com/mhjabreel/CharCnn_Keras/master/data/ag_news_csv/test.csv",
        "521465c2428ed7f02f8d6db6ffdd4b5447c1c701962353eb2c40d548c3c85699",
        column="description",
    ),
}

#: Column names of AG News style CSV files, which have no header row.
AG_NEWS_COLUMNS = ("class", "title", "description")


@dataclass(frozen=True)
class Corpus:
    """Normalised text with a deterministic train/validation split."""

    name: str
    text: str
    val_fraction: float = 0.1
    source: str = ""
    sha256: str = field(default="", compare=False)

    @property
    def split_at(self) -> int:
        return int(len(self.text) * (1.0 - self.val_fraction))

    @property
    def train(self) -> str:
        return self.text[: self.split_at]

    @property
    def val(self) -> str:
        return self.text[self.split_at :]

    def describe(self) -> dict:
        return {"name": self.name, "source": self.source, "chars": len(self.text),
                "train_chars": len(self.train), "val_chars": len(self.val),
                "val_fraction": self.val_fraction, "sha256": self.sha256}


def _utf16(data: bytes) -> str | None:
    """"UTF-16 (little-endian, ...)" when ``data`` starts with its byte-order mark or has NULs at every other byte."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        order = "little" if data[0] == 0xFF else "big"
        return f"UTF-16 ({order}-endian, with a byte-order mark)"
    head = data[:4096]
    for zeros, chars, order in ((head[1::2], head[0::2], "little"), (head[0::2], head[1::2], "big")):
        # mostly-ASCII text in UTF-16: a NUL in (nearly) every other byte, and none in between
        if len(head) >= 4 and zeros.count(0) >= 0.9 * len(zeros) and chars.count(0) == 0:
            return f"UTF-16 ({order}-endian, no byte-order mark)"
    return None


def decode(data: bytes, where: str) -> str:
    """UTF-8 (with or without BOM) to text with LF line ends; clear errors for binary or other encodings."""
    utf16 = _utf16(data)
    if utf16:
        raise CorpusError(f"{where} is {utf16}, not UTF-8; convert it, e.g. with iconv -f UTF-16 -t UTF-8")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise CorpusError(f"{where} looks binary: NUL byte at offset {nul}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(
            f"{where} is not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start} ({exc.reason}); "
            "convert it, e.g. with iconv -t UTF-8"
        ) from None
    return text.removeprefix("\ufeff").replace("\r\n", "\n")


_GUTENBERG_START = re.compile(r"^\*\*\* ?START OF (THE|THIS) PROJECT GUTENBERG.*$", re.M | re.I)
_GUTENBERG_END = re.compile(r"^(\*\*\* ?END OF (THE|THIS) PROJECT GUTENBERG|End of (the )?Project Gutenberg).*$",
                            re.M | re.I)


def strip_gutenberg(text: str) -> str:
    """Drop a Project Gutenberg header and licence, if the markers are there."""
    start = _GUTENBERG_START.search(text)
    if start:
        text = text[start.end() :]
    end = _GUTENBERG_END.search(text)
    if end:
        text = text[: end.start()]
    return text.strip("\n") + "\n"


def read_csv_column(text: str, column: str | int, where: str) -> str:
    """One column of an AG News style CSV (no header), with literal backslash-n unescaped."""
    rows = list(csv.reader(io.StringIO(text)))
    if isinstance(column, str) and not column.isdigit():
        if column not in AG_NEWS_COLUMNS:
            raise CorpusError(f"{where}: unknown column {column!r}; use an index or one of {AG_NEWS_COLUMNS}")
        index = AG_NEWS_COLUMNS.index(column)
    else:
        index = int(column)
    try:
        values = [row[index] for row in rows if row]
    except IndexError:
        raise CorpusError(f"{where}: a row has no column {column!r}") from None
    return "\n".join(v.replace("\\n", "\n").strip() for v in values) + "\n"


def _read_path(path: Path, column: str | int | None) -> str:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in {".txt", ".md", ""}
                       and not any(part.startswith(".") for part in p.relative_to(path).parts))  # .git, .DS_Store
        if not files:
            raise CorpusError(f"folder {path} holds no .txt files")
        return "\n".join(decode(p.read_bytes(), str(p)) for p in files)
    if not path.is_file():
        raise CorpusError(f"corpus {str(path)!r} is neither a file, a folder nor a named corpus "
                          f"({', '.join(NAMED)})")
    text = decode(path.read_bytes(), str(path))
    if column is not None or path.suffix.lower() == ".csv":
        text = read_csv_column(text, column if column is not None else "description", str(path))
    return text


def cache_dir() -> Path:
    base = os.environ.get("TEXTGEN_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "textgen")
    return Path(base) / "corpora"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_named(name: str) -> Path:
    """Path of a named corpus: $TEXTGEN_CORPORA, then the cache, then a checked download."""
    spec = NAMED[name]
    folders = [Path(p) for p in os.environ.get("TEXTGEN_CORPORA", "").split(os.pathsep) if p]
    for folder in [*folders, cache_dir()]:
        if (folder / spec.file).is_file():
            return folder / spec.file
    target = cache_dir() / spec.file
    try:
        with urllib.request.urlopen(spec.url, timeout=60) as response:
            data = response.read()
    except OSError as exc:
        raise CorpusError(
            f"corpus {name!r} is not available offline and could not be downloaded from {spec.url} ({exc}). "
            f"Put {spec.file} in a folder named by TEXTGEN_CORPORA, or in {target.parent}"
        ) from None
    if _sha256(data) != spec.sha256:
        raise CorpusError(f"download of {name!r} from {spec.url} has sha256 {_sha256(data)}, expected {spec.sha256}")
    atomic.write_bytes(target, data)
    return target


def load_corpus(source: str | Path, *, column: str | int | None = None, val_fraction: float = 0.1,
                gutenberg: bool | None = None) -> Corpus:
    """Load a named corpus, a text file, a folder of text files or a CSV column.

    ``gutenberg`` strips a Project Gutenberg header and licence (default: on for the
    named corpora that have one, off otherwise).
    """
    if not 0.0 < val_fraction < 1.0:
        raise CorpusError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    name = str(source)
    spec = NAMED.get(name)
    path = fetch_named(name) if spec else Path(source).expanduser()
    if spec and column is None:
        column = spec.column
    text = _read_path(path, column)
    if gutenberg if gutenberg is not None else bool(spec and spec.strip_gutenberg):
        text = strip_gutenberg(text)
    if not text.strip():
        raise CorpusError(f"corpus {name!r} ({path}) is empty")
    corpus = Corpus(name=path.stem if not spec else name, text=text, val_fraction=val_fraction,
                    source=str(path), sha256=_sha256(text.encode("utf-8")))
    if not corpus.val.strip() or not corpus.train.strip():
        raise CorpusError(f"corpus {name!r} is too short to split into train and validation parts")
    return corpus
