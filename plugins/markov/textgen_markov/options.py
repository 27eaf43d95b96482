"""The Markov plugin's options: markovify's knobs plus the level and state size."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from toolkit.options import Options

from .sentences import choose_mode, filter_drops

#: Default state size per level. 6 characters gave the lowest held-out bits per
#: character on Tiny Shakespeare (bench/markov.py, bench/RESULTS.md).
DEFAULT_STATE_SIZE = {"word": 2, "char": 6}
MAX_STATE_SIZE = {"word": 4, "char": 16}


class MarkovOptions(Options):
    level: Literal["char", "word"] = Field(
        "word", description="Tokens of the chain: whitespace-split words in sentences (markovify) or characters.")
    state_size: int | None = Field(
        None, ge=1,
        description="Tokens of context: words 1..4 (default 2), characters 1..16 (default 6, best held-out bpc).")
    sentences: Literal["auto", "text", "newline"] = Field(
        "auto", description="Word level: sentences end at . ! ? (markovify.Text) or at newlines (NewlineText); "
                            "auto: newline for one short item per line, else text (see the plugin's README).")
    well_formed: bool | None = Field(
        None, description="Word level: skip training sentences with quotes or brackets (markovify's input filter); "
                          "default: on for sentences=text unless it would drop more than a fifth of the sentences "
                          "(half of a novel with dialogue), off for newline (one item per line keeps its brackets).")
    novelty: bool = Field(
        False, description="Word level: redraw sentences that copy the training text (markovify's output test).")
    max_overlap_ratio: float = Field(
        0.7, gt=0, le=1, allow_inf_nan=False,
        description="Novelty: refuse a sentence sharing this fraction of its words, in a row, with the training text.")
    max_overlap_total: int = Field(
        15, ge=1, le=100,
        description="Novelty: refuse a sentence sharing this many words in a row with the training text.")

    @field_validator("state_size")
    @classmethod
    def _fits_level(cls, value: int | None, info: ValidationInfo) -> int | None:
        level = info.data.get("level", "word")
        if value is not None and value > MAX_STATE_SIZE[level]:
            raise ValueError(f"state_size must be at most {MAX_STATE_SIZE[level]} at level {level!r}")
        return value

    @field_validator("novelty")
    @classmethod
    def _word_level(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("level") == "char":
            raise ValueError("novelty filters sentences, so it needs level='word'")
        return value

    def resolved(self, text: str) -> tuple[MarkovOptions, str]:
        """These options with the word level's defaults that depend on the corpus filled in (the
        sentence mode, then the input filter), and why that mode."""
        why, update = "set with -o sentences", {}
        if self.sentences == "auto":
            update["sentences"], why = choose_mode(text)
        if self.well_formed is None:
            update["well_formed"] = update.get("sentences", self.sentences) == "text"
            dropped, seen = filter_drops(text) if update["well_formed"] else (0, 0)
            if dropped * 5 > seen:
                update["well_formed"] = False
                why += (f"; markovify's input filter would drop {dropped / seen:.0%} of the sentences, so it is off"
                        " (-o well_formed=true turns it on)")
        return self.model_copy(update=update), why

    @property
    def order(self) -> int:
        """The state size in use: the one given, or the level's default."""
        return self.state_size or DEFAULT_STATE_SIZE[self.level]
