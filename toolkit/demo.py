"""The demo (``textgen demo``, `toolkit.cli.demo`): train every installed family on Tiny Shakespeare,
then compare them.

On a fresh machine this trains a character and a word Markov chain (seconds), a character
and a word LSTM (the lab's question: word against character models on the same book) and a
small character GPT-2 from scratch (about a minute each on a CPU, through
their ``max_seconds`` budgets), adds a pretrained GPT-2 if one is on disk, and runs
`toolkit.compare` on the prompt "ROMEO:". Models already trained in the output
folder with the same corpus and options are reused, and so are their recorded held-out figures
and, for unchanged models, the previous report's measurements, so a second demo takes seconds.
The models come from the installed plugins (`Generator.demo_recipes`, `Generator.local_pretrained`),
asked in their ``demo_order``, so the core names none of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import registry
from ._compat import moved_names
from .comparison import compare, table
from .data.corpora import Corpus, load_corpus
from .errors import ModelDirError, PluginError
from .generation.temperatures import DEFAULT_TEMPERATURES
from .generator import DemoRecipe as Recipe
from .options import parse_options

DEMO_PROMPT = "ROMEO:"
#: Training budget of each neural model, seconds (lstm ~70 s and gpt2 ~70 s keep the demo to a few minutes).
DEFAULT_MAX_SECONDS = 70.0


def _demo_plugins() -> Iterator[tuple[str, Any]]:
    """Each installed plugin's name and class, in ``demo_order`` then name; one that fails to load is left out."""
    found = []
    for name in registry.plugins():
        try:
            cls = registry.get(name)
        except PluginError:
            continue  # `textgen plugins` says why
        found.append((cls.demo_order, name, cls))
    for _, name, cls in sorted(found, key=lambda row: row[:2]):
        yield name, cls


def recipes() -> tuple[Recipe, ...]:
    """The models the demo trains: every installed plugin's `Generator.demo_recipes`, in ``demo_order``
    (ties by plugin name), each plugin's in its own order, under the name it is registered as."""
    return tuple(replace(recipe, plugin=name) for name, cls in _demo_plugins() for recipe in cls.demo_recipes())


def say(message: str) -> None:
    print(message, flush=True)


def budget_of(max_seconds: float | None = None, max_flops: float | None = None) -> dict[str, float]:
    """The neural models' training budget as options: ``max_flops`` (the same models on any machine) when
    given, else ``max_seconds`` (what this machine trains in that time)."""
    if max_flops is not None:
        if not max_flops > 0:
            raise ValueError(f"max_flops must be > 0, got {max_flops}")
        return {"max_flops": float(max_flops)}
    if max_seconds is None or not max_seconds > 0:
        raise ValueError(f"max_seconds must be > 0, got {max_seconds}")
    return {"max_seconds": float(max_seconds)}


def _options(recipe: Recipe, budget: dict[str, float], overrides: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {**recipe.options, **(budget if recipe.timed else {}), **overrides.get(recipe.plugin, {})}


def parse_overrides(pairs: list[str] | None) -> dict[str, dict[str, Any]]:
    """``["lstm.hidden_size=128"]`` -> ``{"lstm": {"hidden_size": "128"}}`` (pydantic coerces the strings)."""
    from .options import OptionError, parse_pairs

    found: dict[str, dict[str, Any]] = {}
    for key, value in parse_pairs(pairs).items():
        plugin, dot, name = key.partition(".")
        if not (dot and plugin and name):
            raise OptionError(f"demo option {key!r} must be PLUGIN.KEY=VALUE: a plugin's name, a dot and "
                              "one of its training options")
        found.setdefault(plugin, {})[name] = value
    return found


def reusable(folder: Path, recipe: Recipe, options: dict[str, Any], corpus: Corpus, *,
             seed: int) -> dict[str, Any] | None:
    """The manifest of a model the demo trained before with this corpus, seed and (typed) options, else None."""
    from .modeldir import MANIFEST, read_manifest

    if not (folder / MANIFEST).is_file():
        return None
    try:
        manifest = read_manifest(folder)
    except ModelDirError:
        return None
    training = manifest.get("training", {})
    same_options = all(training.get("options", {}).get(k) == v for k, v in options.items())
    same_corpus = training.get("corpus", {}).get("sha256") == corpus.sha256
    same = manifest["plugin"] == recipe.plugin and same_options and same_corpus and training.get("seed") == seed
    return manifest if same else None


def train_or_reuse(recipe: Recipe, corpus: Corpus, models: Path, *, seed: int, max_seconds: float | None = None,
                   overrides: dict[str, dict[str, Any]] | None = None, max_flops: float | None = None,
                   folder: Path | None = None) -> Path | None:
    """Path of the recipe's trained model, training it unless a matching one is there; None if skipped.

    The model goes to ``folder``, by default ``models/LABEL``; a timed recipe trains for ``max_flops``
    when given, else ``max_seconds`` (`budget_of`).
    """
    import toolkit

    if recipe.plugin not in registry.plugins():
        say(f"- {recipe.label}: skipped, plugin {recipe.plugin!r} is not installed "
            f"(pip install textgen-{recipe.plugin})")
        return None
    try:
        model_options = registry.get(recipe.plugin).Options
    except PluginError as exc:
        say(f"- {recipe.label}: skipped, {exc}")
        return None
    budget = budget_of(max_seconds, max_flops)
    options = _options(recipe, budget, overrides or {})
    missing = [k for k in options if k not in model_options.model_fields]
    if missing:
        say(f"- {recipe.label}: skipped, plugin {recipe.plugin!r} has no option {', '.join(missing)}")
        return None
    typed = parse_options(model_options, options, f"{recipe.plugin} option").model_dump(mode="json")
    folder = folder or models / recipe.label
    manifest = reusable(folder, recipe, {k: typed[k] for k in options}, corpus, seed=seed)
    if manifest is not None:
        val = manifest["training"].get("val_bpc")
        say(f"- {recipe.label}: reusing {folder} (trained {manifest.get('saved', '?')}, "
            f"{val:.3f} bits per character)" if isinstance(val, float) else f"- {recipe.label}: reusing {folder}")
        return folder
    told = f", budget {_budget_text(budget)}, seed {seed}" if recipe.timed else ""
    shown = {k: v for k, v in options.items() if k not in budget}
    say(f"- {recipe.label}: training {recipe.plugin} {shown}{told} ...")
    model = toolkit.train(recipe.plugin, corpus, out=folder, seed=seed, overwrite=True, **options)  # not reusable
    say(f"  {recipe.label}: trained in {model.training['train_seconds']:.1f}s, held-out "
        f"{model.training['val_bpc']:.3f} bits per character")
    return folder


def _budget_text(budget: dict[str, float]) -> str:
    return f"{budget['max_flops']:.2g} FLOPs" if "max_flops" in budget else f"{budget['max_seconds']:g}s"


def check_seeds(seeds: Any) -> None:
    if not (isinstance(seeds, int) and not isinstance(seeds, bool) and seeds >= 1):
        raise ValueError(f"seeds must be a whole number >= 1, got {seeds!r}")


def train_all(text: Corpus, models: Path, *, seed: int, max_seconds: float | None = None,
              max_flops: float | None = None, seeds: int = 1,
              overrides: dict[str, dict[str, Any]] | None = None,
              chosen_recipes: tuple[Recipe, ...] | None = None) -> dict[str, Path | list[Path]]:
    """Train (or reuse) every recipe (`recipes`); with ``seeds`` K > 1, each timed one K times,
    seeds ``seed`` .. ``seed+K-1``.

    A timed recipe's runs go to ``models/../seeds/LABEL/seed-N`` (`comparison.seeds`), the form
    ``textgen compare --seeds K`` reads; a Markov chain's count does not depend on the seed, so
    it is trained once, in ``models/LABEL``. Returns each label's path, or its runs' paths.
    ``chosen_recipes`` replaces the installed plugins' recipes.
    """
    from .comparison.seeds import seed_folder

    budget: dict[str, Any] = {"max_seconds": max_seconds, "max_flops": max_flops, "overrides": overrides}
    check_seeds(seeds)
    chosen: dict[str, Path | list[Path]] = {}
    for recipe in recipes() if chosen_recipes is None else chosen_recipes:
        several = seeds > 1 and recipe.timed
        where = models.parent / "seeds" / recipe.label
        runs = [train_or_reuse(recipe, text, models, seed=seed + i, **budget,
                               folder=where / seed_folder(seed + i) if several else None)
                for i in range(seeds if several else 1)]
        found = [run for run in runs if run is not None]
        if found and len(found) == len(runs):
            chosen[recipe.label] = found if several else found[0]
    return chosen


def pretrained_entries() -> dict[str, Path]:
    """Label ``NAME-pretrained`` and path of each installed plugin's local pretrained model
    (`Generator.local_pretrained`) that the plugin recognises, with a one-line note on each."""
    found: dict[str, Path] = {}
    for name, cls in _demo_plugins():
        label = f"{name}-pretrained"
        try:
            path = cls.local_pretrained()
        except LookupError as exc:
            say(f"- {label}: none on this machine ({exc})")
            continue
        if path is None:
            continue
        try:
            recognized = cls.recognizes(path)
        except PluginError as exc:
            say(f"- {label}: skipped, {exc}")
            continue
        if recognized:
            say(f"- {label}: using {path}")
            found[label] = path
        else:
            say(f"- {label}: skipped, the {name} plugin does not recognise {path}")
    return found


def pretrained_entry() -> tuple[str, Path] | None:
    """(label, path) of the first local pretrained model (`pretrained_entries`), or None."""
    return next(iter(pretrained_entries().items()), None)


#: The results file the README's figures are rendered from (`bench/compare.py --docs docs`), in a checkout.
README_RESULTS = Path(__file__).resolve().parents[1] / "docs" / "compare-results.json"


def training_speed(training: dict[str, Any]) -> float | None:
    """Training tokens/s a run sustained: its compute record, else its curve's last point."""
    recorded = (training.get("compute") or {}).get("tokens_per_second")
    if isinstance(recorded, int | float):
        return float(recorded)
    last = (training.get("curve") or [{}])[-1]
    seconds, tokens = last.get("seconds"), last.get("tokens")
    return tokens / seconds if isinstance(seconds, int | float) and seconds > 0 and tokens else None


def speed_line(models: list[Any], results: Path = README_RESULTS) -> str:
    """This machine's training speed of each trained model, against the README machine's (from ``results``).

    ``models`` are the report's `ModelResult`s; a count model (one curve point) is left out. The
    README's figures are read from the results file `bench/compare.py` writes, never typed in.
    """
    from .comparison.curves import machine_text
    from .comparison.markdown import human

    trained = [m for m in models if len(m.training.get("curve") or []) > 1 and training_speed(m.training)]
    if not trained:
        return "training speed: no model here was trained by gradient steps"
    here = machine_text(trained[0].training) or "this machine"
    mine = ", ".join(f"{m.label} at {human(training_speed(m.training))} tokens/s" for m in trained)
    try:
        found = json.loads(results.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"this machine ({here}) trained {mine}; the README's figures are not on disk here ({results.name})"
    rows = {row.get("label"): row.get("train_tokens_per_second") for row in found.get("models", [])}
    theirs = ", ".join(f"{human(rows[m.label])}" if rows.get(m.label) else "not recorded" for m in trained)
    return (f"this machine ({here}) trained {mine}; the README's figures were measured at {theirs} "
            f"on {found.get('training_machine') or found.get('machine', 'an unnamed machine')}")


def run(out: Path = Path("demo-output"), *, corpus: str | Path = "tinyshakespeare", seed: int = 0,
        max_seconds: float = DEFAULT_MAX_SECONDS, prompt: str = DEMO_PROMPT, samples: int = 5,
        max_tokens: int = 200, temperatures: tuple[float, ...] | list[float] = DEFAULT_TEMPERATURES,
        max_score_chars: int | None = None, pretrained: bool = True,
        overrides: dict[str, dict[str, Any]] | None = None, max_flops: float | None = None,
        seeds: int = 1) -> Any:
    """Train (or reuse) the demo's models in ``out/models``, compare them, write ``out/report``.

    ``overrides`` adds or changes training options per plugin, ``{PLUGIN: {OPTION: VALUE}}``.
    Every model is scored on the whole validation split unless ``max_score_chars`` names a slice.
    ``max_flops`` trains the neural models for that compute instead of ``max_seconds``; ``seeds`` K > 1
    trains each K times (`train_all`) and reports intervals. The crossovers are printed in training
    FLOPs and in seconds on this machine, and one line compares this machine's training speed with
    the README's.
    """
    budget_of(max_seconds, max_flops)  # bad values are refused before any work
    check_seeds(seeds)
    text = load_corpus(corpus)
    models_dir = out / "models"
    say(f"textgen demo: {text.name} ({len(text.train):,} training characters), models in {models_dir}")
    chosen: dict[str, Any] = dict(train_all(text, models_dir, seed=seed, max_seconds=max_seconds,
                                            max_flops=max_flops, seeds=seeds, overrides=overrides))
    if pretrained:
        chosen.update(pretrained_entries())
    if not chosen:
        raise PluginError("no installed plugin offers a demo model: install a generator plugin that does "
                          "(`textgen plugins` lists what is installed)")
    say(f"comparing {len(chosen)} model(s) on the prompt {prompt!r} ...")
    report = compare(chosen, text, [prompt], samples=samples, temperatures=temperatures, max_tokens=max_tokens,
                     seed=seed, max_score_chars=max_score_chars, out=out / "report", seeds=seeds,
                     progress=lambda message: say(f"  {message}"))
    say("")
    say(table(report))
    say("")
    say("crossovers between the models (training FLOPs hold on any machine; seconds are this machine's; "
        "those with the reference lines are in report.md):")
    labels = {m.label for m in report.models}
    for crossing in report.crossovers:
        if crossing["target"] in labels:
            say(f"- {crossing['text']}")
    say(speed_line(report.models))
    say(f"report: {out / 'report'} (report.md with the crossovers and samples, report.json, compare-*.png)")
    say(f"open the dashboard on these models: textgen dashboard --models {out if seeds > 1 else models_dir}")
    return report


#: ``textgen demo`` itself moved to the CLI; ``RECIPES`` is the installed plugins' recipes, asked afresh.
__getattr__ = moved_names(__name__, {"main": "toolkit.cli.demo:main"}, computed={"RECIPES": recipes})
