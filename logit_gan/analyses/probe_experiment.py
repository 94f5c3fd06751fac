"""`logit_probe` as an experiment: what each model's classifier keeps of the
ground-truth factors, and what of it survives the round trip through the
generator (issue #21).

For each model m, with its own classifier Φ_m and generator G_m, on images
x [N, R, R, 3] whose factors are known (the package's `shapes` and
`shapes_mini` test sets):

  originals        probe from Φ_m(x) to x's factors;
  reconstructions  probe from Φ_m(G_m(Φ_m(x), ε)) to x's factors (the
                   ORIGINAL's), ε = m.sample_noise(N, seed): what of each
                   factor the reconstruction's logits still carry. It is at
                   most what the originals' logits carry when the generator
                   only uses the logits; a drop says the generator lost it.

Each is `logit_probe.probe` (held-out ridge with quadratic features and/or
an MLP, several half splits, bootstrap CI; see that module), with the
labels x's true classes and, for shapes_mini, `foreground_hue_offset`
added (`logit_probe.with_hue_offset`). Factors that take one value on these
images (or are constant in a column) are left out and listed in
settings["skipped_factors"].

Numbers, per model, factor f, probe p and source s in {originals,
reconstructions}, params {"factor": f, "probe": p, "source": s}:

  r2 / accuracy  held-out R² (continuous factors; mean over columns) or
                 accuracy (categorical), with its CI;
  within_class   what the logits add beyond the true class: 1 - SSE /
                 SSE(class mean) (continuous) or 1 - errors / errors(class
                 majority) (categorical); NaN when f does not vary within
                 any class;

and, params {"factor": f}: `class_share` (what the class alone explains,
the same for every model) and, categorical, `chance` (the majority
category's share). The probe's scores are not means over images, so no
paired differences between models are reported; compare the intervals.
Figures: <model>_<probe>.png (held-out scores per factor, originals beside
reconstructions) and <model>_<probe>_within_class.png.

Deviation from the paper: the paper has no probe; this is the ceiling
against which "what the reconstructions keep" is read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import gin
import numpy as np

from logit_gan.analyses import common
from logit_gan.analyses import examples as examples_lib
from logit_gan.analyses import figures
from logit_gan.analyses import logit_probe
from logit_gan.analyses import results

NAME = "logit_probe"
SOURCES = ("originals", "reconstructions")
SHORT = {"originals": "orig", "reconstructions": "recon"}
# Within-class R² at or above which a factor counts as carried (#21).
CARRIED_THRESHOLD = 0.3


def probed_factors(examples: examples_lib.Examples
                   ) -> tuple[dict[str, np.ndarray], list[str]]:
  """(the factors to probe, the names left out as constant), or a
  ValueError when the examples have no factors or labels."""
  if not examples.factors or examples.labels is None:
    raise ValueError(
        "logit_probe needs a dataset with ground-truth factors: shapes or "
        f"shapes_mini (the examples from {examples.source or 'the caller'} "
        "have none; use an export trained on one, without --images or "
        "--tfds).")
  if len(examples) < logit_probe.MIN_EXAMPLES:
    raise ValueError(f"logit_probe needs at least {logit_probe.MIN_EXAMPLES} "
                     f"images, got {len(examples)}: raise --num_images.")
  factors, skipped = {}, []
  for name, values in logit_probe.with_hue_offset(examples.factors).items():
    columns = np.asarray(values).reshape(len(examples), -1)
    if np.any(np.all(columns == columns[:1], axis=0)):
      skipped.append(name)
    else:
      factors[name] = np.asarray(values)
  if not factors:
    raise ValueError(f"Every factor of {examples.source} is constant on "
                     f"these {len(examples)} images: raise --num_images.")
  return factors, skipped


def source_logits(model, images: np.ndarray, *, seed: int,
                  reconstructions: bool) -> dict[str, np.ndarray]:
  """{"originals": Φ(x) [N, n_c], "reconstructions": Φ(G(Φ(x), ε))}."""
  logits = model.classify(images)
  found = {"originals": logits}
  if reconstructions:
    noise = model.sample_noise(len(images), seed)
    found["reconstructions"] = model.classify(model.reconstruct(logits,
                                                                noise))
  return found


def _add_factor(result: results.Result, model: str,
                factor: logit_probe.FactorResult, **params) -> None:
  result.add(factor.metric, model, factor.score, factor=factor.name,
             **params)
  result.add("within_class", model, factor.within_class,
             factor=factor.name, **params)


def _add_class_numbers(result, model, probed: logit_probe.ProbeResult):
  for factor in probed.factors.values():
    n = factor.score.n
    result.add("class_share", model, results.exact(factor.class_share, n),
               factor=factor.name)
    if factor.chance is not None:
      result.add("chance", model, results.exact(factor.chance, n),
                 factor=factor.name)


def _bars(by_source: Mapping[str, logit_probe.ProbeResult], model: str,
          kind: str, within: bool) -> bytes:
  first = next(iter(by_source.values()))
  names = [f"{f.name} ({'R²' if f.metric == 'r2' else 'acc'})"
           for f in first.factors.values()]

  def interval(factor):
    value = factor.within_class if within else factor.score
    return (value.mean, value.low, value.high)
  series = {source: [interval(f) for f in probed.factors.values()]
            for source, probed in by_source.items()}
  what = "within class (beyond the class)" if within else "held out"
  return figures.bar_plot(names, series, ylabel="score",
                          title=f"{model}: {kind} probe, {what}")


def _summary_of(model: str, by_source) -> str:
  """'<model>: R² 0.41 orig / 0.30 recon (mean of k continuous factors),
  within class >= 0.3: 4 / 2 of 9 not fixed by the class'."""
  def mean_r2(probed):
    return np.nanmean([f.score.mean for f in probed.factors.values()
                       if f.metric == "r2"] or [np.nan])

  def carried(probed):
    free = [f for f in probed.factors.values() if not f.fixed_by_class]
    return sum(f.within_class.mean >= CARRIED_THRESHOLD for f in free
               if np.isfinite(f.within_class.mean)), len(free)
  parts = [f"{mean_r2(p):.2f} {SHORT[s]}" for s, p in by_source.items()]
  counts = [carried(p) for p in by_source.values()]
  continuous = sum(f.metric == "r2" for f in
                   next(iter(by_source.values())).factors.values())
  return (f"{model}: R² {' / '.join(parts)} (mean of {continuous} "
          f"continuous factors), within class >= {CARRIED_THRESHOLD}: "
          f"{' / '.join(str(c) for c, _ in counts)} of {counts[0][1]} "
          "not fixed by the class")


def _probe_model(result, model, examples, factors, *, seed, probes,
                 reconstructions, probe_settings) -> str:
  """Adds one model's numbers and figures; returns its summary part."""
  logits = source_logits(model, examples.images, seed=seed,
                         reconstructions=reconstructions)
  summary = ""
  for kind in probes:
    by_source = {source: logit_probe.probe(
        values, factors, examples.labels, probe=kind, seed=seed,
        **probe_settings) for source, values in logits.items()}
    for source, probed in by_source.items():
      for factor in probed.factors.values():
        _add_factor(result, model.name, factor, probe=kind, source=source)
    result.figures[f"{model.name}_{kind}.png"] = _bars(
        by_source, model.name, kind, within=False)
    result.figures[f"{model.name}_{kind}_within_class.png"] = _bars(
        by_source, model.name, kind, within=True)
    summary = summary or _summary_of(model.name, by_source) + f" ({kind})"
  _add_class_numbers(result, model.name, by_source["originals"])
  return summary


@gin.configurable(NAME, denylist=["models", "examples"])
def run(models: Sequence, examples: examples_lib.Examples, *, seed: int = 0,
        probes: Sequence[str] = ("ridge",), reconstructions: bool = True,
        quadratic: bool = True, splits: int = 4, resamples: int = 1000,
        fixed_threshold: float = 0.9,
        max_quadratic_components: int = 32) -> results.Result:
  """The probe of each model's logits of the originals and of the
  reconstructions (module docstring).

  Args:
    models: InversionModels; each uses its own classifier.
    examples: labelled images with factors (shapes / shapes_mini), N >= 20.
    seed: seeds the noise, the probes' splits and the bootstrap.
    probes: "ridge" and/or "mlp".
    reconstructions: also probe the reconstructions' logits.
    quadratic, splits, resamples, fixed_threshold, max_quadratic_components:
      `logit_probe.probe`'s.

  Returns:
    A Result named "logit_probe".
  """
  unknown = [kind for kind in probes if kind not in logit_probe.PROBES]
  if unknown or not probes:
    raise ValueError(f"logit_probe.probes = {tuple(probes)!r}: give one or "
                     f"more of {logit_probe.PROBES}.")
  factors, skipped = probed_factors(examples)
  probe_settings = {"quadratic": quadratic, "splits": splits,
                    "resamples": resamples,
                    "fixed_threshold": fixed_threshold,
                    "max_quadratic_components": max_quadratic_components}
  result, examples = common.begin(NAME, models, examples, {
      "seed": seed, "probes": list(probes),
      "reconstructions": reconstructions, **probe_settings,
      "factors": sorted(factors), "skipped_factors": skipped}, None)
  summaries = [_probe_model(result, model, examples, factors, seed=seed,
                            probes=probes, reconstructions=reconstructions,
                            probe_settings=probe_settings)
               for model in models]
  result.summary = "; ".join(summaries)
  return result

