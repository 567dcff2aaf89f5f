"""The analysis of the style-transfer reproduction (`reproduce_style_transfer`).

Its labels are the paper's Figure-6a weight vectors
(`style_transfer_points`: Ghiasi's default and each swept weight x10 and
÷10), so the shared protocol (`seed_comparison`, `seed_tables`) compares,
in full loss and over seeds, the fixed model trained at each point with
YOTO, the content-only specialist (on the content line only, where its
fixed style weights are right), the best single fixed model, and the
pixel-blending baseline. `style_transfer_figures` draws what it finds.

The blending baseline (paper Figure 6b) is rebuilt per seed from that
seed's two end models of each swept weight (÷10 and x10): both stylize the
test images the evaluator reads, the blends (1 - α) y_÷10 + α y_x10 are
scored with the loss network, and at each point on that weight's line the
best α (chosen on those same test images: the strongest form of the
baseline) enters the curves as the model 'blend <weight>' at the final step.
At the line's ends α = 0 or 1 is the fixed model itself, so there the blend
is at most the fixed model's loss; the middle point tells.
"""

import os
from typing import Dict, List, Mapping, Sequence

import numpy as np
import tensorflow as tf

from benchmarks import common
from benchmarks import reproduction
from benchmarks import run_ledger
from benchmarks import seed_comparison
from benchmarks import seed_tables
from benchmarks import style_transfer_figures as figures
from benchmarks import style_transfer_points as weight_points
from yoto.analysis import plots
from yoto.analysis import seed_statistics

ALPHAS = tuple(round(float(a), 2) for a in np.linspace(0.0, 1.0, 11))
GRID_EXAMPLES = 2
PHOTO = "photo"
# The fixed sweep read as one model: each point's own fixed model, and the
# lowest loss any fixed model of the seed reaches at the point.
OWN_FIXED = "own fixed"
BEST_FIXED = "best fixed"


# The pixel-blending baseline.


def blend_losses(
  problems, batches: Sequence[tf.Tensor], alphas: Sequence[float] = ALPHAS
) -> List[Dict[str, float]]:
  """Per α: every loss (mean over all images) of (1 - α) y_0 + α y_1,
  y_i the stylization of `problems[i]`, each content image [B, H, W, 3] of
  `batches` with its held-out eval style, scored by the first problem."""

  def blends(content, indices):
    images = [p.stylize_with_styles(content, indices) for p in problems]
    return [(1 - a) * images[0] + a * images[1] for a in alphas]

  return mean_losses(problems[0], batches, blends)


def photo_losses(problem, batches: Sequence[tf.Tensor]) -> Dict[str, float]:
  """Every loss (mean over all images) of the content images returned
  unchanged: what a network that learnt nothing scores (the content loss
  is 0; the style and total-variation losses are the photo's own)."""
  return mean_losses(problem, batches, lambda content, _: [content])[0]


def mean_losses(problem, batches, outputs) -> List[Dict[str, float]]:
  """Per output of `outputs(content, style_indices)` (a list of images
  [B, H, W, 3] for each content batch of `batches`, with its held-out eval
  styles): every loss of `problem`, the mean over all images."""
  sums = None
  count = 0
  for content in batches:
    indices = problem.style_indices(content, training=False)
    images = outputs(content, indices)
    sums = sums or [dict() for _ in images]
    for image, total in zip(images, sums):
      for name, values in problem.losses(image, content, indices).items():
        total[name] = total.get(name, 0.0) + float(tf.reduce_sum(values))
    count += int(content.shape[0])
  return [{k: v / count for k, v in total.items()} for total in sums]


def full_loss(
  losses: Mapping[str, float], point: weight_points.WeightPoint
) -> float:
  return sum(w * losses[k] for k, w in point.weights)


def add_blends(
  curves, specs, points, model_root, seed_list, step, shared, batches, short
) -> Dict[str, dict]:
  """Adds 'blend <weight>' to `curves` at `step` for every seed whose two
  end models of that weight finished; returns the blends' per-α losses and
  chosen α (name -> seed -> ...)."""
  by_name = {s.name: s for s in specs}
  details = {}
  for loss in sorted({p.varied for p in points if p.varied}):
    ends = [p.model for p in points if p.varied == loss]
    name = f"blend {short[loss]}"
    for seed in seed_list:
      if not all(seed in curves.get(m, {}) for m in ends):
        continue
      root = reproduction.seed_dir(model_root, seed)
      per_alpha = run_ledger.cached(
        root,
        name.replace(" ", "_"),
        {"models": ends, "alphas": ALPHAS},
        lambda: _blend_if_weights(by_name, ends, root, shared, batches),
      )
      if per_alpha is None:
        continue
      best = {}
      for point in (p for p in points if weight_points.on_line(p, loss)):
        values = [full_loss(losses, point) for losses in per_alpha]
        best[point] = int(np.argmin(values))
        curves.setdefault(name, {}).setdefault(seed, {}).setdefault(step, {})[
          point
        ] = values[best[point]]
      details.setdefault(name, {})[seed] = {
        "models": ends,
        "alphas": list(ALPHAS),
        "losses": per_alpha,
        "best_alpha": {p.name: ALPHAS[i] for p, i in best.items()},
      }
  return details


def _blend_if_weights(by_name, ends, seed_root, shared, batches):
  """`blend_losses` of the two end models; None where a checkpoint is gone
  (a model the ledger restored)."""
  if not all(run_ledger.has_weights(os.path.join(seed_root, m)) for m in ends):
    return None
  problems = [
    reproduction.restore_state(
      by_name[m], seed_root, shared, batches[0].shape[1:], batches[0].shape[0]
    ).problem
    for m in ends
  ]
  return blend_losses(problems, batches)


def add_photo(curves, spec, shared, batches, step, points) -> Dict[str, float]:
  """Adds 'photo' to `curves` at `step` for every seed of the YOTO model:
  the full loss of the content returned unchanged (`photo_losses`, the same
  for every seed) at every point; returns its losses. A fixed model that
  learnt anything scores below it."""
  problem = common.build_state(
    spec.config,
    spec.all_bindings(shared),
    batches[0].shape[1:],
    batches[0].shape[0],
  ).problem
  losses = photo_losses(problem, batches)
  for seed in curves["yoto"]:
    curves.setdefault(PHOTO, {})[seed] = {
      step: {p: full_loss(losses, p) for p in points}
    }
  return losses


def loss_terms(
  specs, points, model_root, seed_list, steps, step, photo
) -> Dict[str, Dict[str, Dict[str, float]]]:
  """What each loss adds to the full loss at every point, weight x loss,
  mean over the seeds evaluated at `step`: point name -> 'photo', 'fixed'
  (the point's fixed model) or 'yoto' -> loss -> value. It shows which
  terms the trained models lower from the photo's (`photo`:
  `photo_losses`) and which they leave."""
  models = {p.model for p in points} | {"yoto"}
  specs = [s for s in specs if s.name in models]
  terms = {p.name: {"photo": {}, "fixed": {}, "yoto": {}} for p in points}
  for loss, _ in points[0].weights:
    curves = seed_comparison.collect_curves(
      specs,
      model_root,
      seed_list,
      steps,
      weight_points.point_of(points),
      value_of=lambda values, weights, loss=loss: weights[loss] * values[loss],
    )
    for point in points:
      row = terms[point.name]
      row["photo"][loss] = point.as_dict()[loss] * photo[loss]
      for method, model in (("fixed", point.model), ("yoto", "yoto")):
        values = seed_statistics.at_step(curves, model, point, step)
        if values:
          row[method][loss] = float(np.mean(list(values.values())))
  return terms


def loss_terms_markdown(terms, short) -> str:
  """`loss_terms` as a table: per point the photo, the fixed model and
  YOTO, one column per loss (named by `short`) and their sum."""
  losses = list(next(iter(next(iter(terms.values())).values())))
  rows = []
  for point, by_method in terms.items():
    for method, values in by_method.items():
      if values:
        rows.append(
          [point, method]
          + [f"{values[k]:.0f}" for k in losses]
          + [f"{sum(values.values()):.0f}"]
        )
  return common.markdown_table(
    ["point", "model", *[short[k] for k in losses], "full loss"], rows
  )


def figure_seed(specs, seeds_done, model_root):
  """The first seed whose every model still has its weights here (the
  ledger keeps none), or None."""
  roots = {reproduction.seed_dir(model_root, s): s for s in seeds_done}
  root = run_ledger.first_complete(list(roots), [s.name for s in specs])
  return None if root is None else roots[root]


# Tables and the whole analysis.


def _json(value):
  if isinstance(value, seed_statistics.Interval):
    return value.to_json()
  if isinstance(value, weight_points.WeightPoint):
    return value.name
  if isinstance(value, Mapping):
    return {
      _json(k) if isinstance(k, weight_points.WeightPoint) else str(k): _json(v)
      for k, v in value.items()
    }
  return value


def _rows_json(rows, reference: str) -> List[dict]:
  """`seed_statistics.gap_rows` for the json, the reference's loss under
  the key `reference`."""
  return [
    {
      "point": r["label"].name,
      reference: _json(r["fixed"]),
      "gaps": _json(r["gaps"]),
      "relative": r["relative"],
    }
    for r in rows
  ]


def analyse(
  specs,
  points,
  model_root,
  steps,
  seed_list,
  shared,
  batches,
  out_dir,
  name,
  timings,
  short,
):
  """Tables and figures of the finished models; returns (results, md)."""
  curves = seed_comparison.collect_curves(
    specs, model_root, seed_list, steps, weight_points.point_of(points)
  )
  if "yoto" not in curves:
    return {"timings": timings}, "No YOTO model finished yet.\n"
  fixed = {p: p.model for p in points}
  # The specialist's style weights are the default's: compared on the
  # content line only.
  for per_step in curves.get("specialist", {}).values():
    for values in per_step.values():
      for point in [
        p for p in values if not weight_points.on_line(p, "content_loss")
      ]:
        del values[point]
  finished = [m for m in curves]
  # YOTO, its --variants and the specialist, in the reproduction's order.
  conditioned = [s.name for s in specs if s.is_yoto and s.name in curves]
  step = seed_statistics.final_step(curves, finished)
  blends = add_blends(
    curves, specs, points, model_root, seed_list, step, shared, batches, short
  )
  baseline = seed_statistics.single_model(curves, fixed, step)
  photo = add_photo(
    curves,
    next(s for s in specs if s.name == points[0].model),
    shared,
    batches,
    step,
    points,
  )
  terms = loss_terms(specs, points, model_root, seed_list, steps, step, photo)
  against_steps = {
    m: {
      p: seed_statistics.relative_gap_curve(curves, fixed, m, p) for p in points
    }
    for m in conditioned
  }
  methods = conditioned + list(blends)
  methods.append(PHOTO)
  rows = seed_statistics.gap_rows(curves, fixed, methods, step, baseline)
  envelope_rows, best_fixed = against_envelope(curves, fixed, step, conditioned)
  statements = {
    m: seed_statistics.model_convergence(
      curves,
      m,
      [p for p in points if m in conditioned or p.model == m],
    )
    for m in finished
  }
  seeds_done = sorted(curves["yoto"])
  title = (
    f"photo_patches test split, step {step}, seeds "
    f"{', '.join(map(str, seeds_done))}"
  )
  paths = [
    plots.save(
      figures.gaps_figure(rows, baseline, title),
      os.path.join(out_dir, f"{name}_gaps.png"),
    ),
    plots.save(
      figures.learning_curves_figure(curves, fixed, conditioned, title),
      os.path.join(out_dir, f"{name}_learning_curves.png"),
    ),
  ]
  shown = figure_seed(
    [s for s in specs if s.name == "yoto" or s.name in fixed.values()],
    [
      s
      for s in seeds_done
      if all(s in curves.get(m, {}) for m in fixed.values())
    ],
    model_root,
  )
  if shown is not None:
    seed_root = reproduction.seed_dir(model_root, shown)
    content = batches[0][:GRID_EXAMPLES]
    paths.append(
      plots.save(
        figures.figure7(
          specs,
          points,
          seed_root,
          shared,
          content,
          f"Figure 7, seed {shown}, held-out content and style: the "
          "fixed models (left) and the one YOTO model (right)",
        ),
        os.path.join(out_dir, f"{name}_figure7.png"),
      )
    )
  results = {
    "steps": steps,
    "compared_step": step,
    "seeds": seeds_done,
    "split": reproduction.SPLIT,
    "single_model": baseline,
    "points": {
      p.name: {"model": p.model, "weights": p.as_dict()} for p in points
    },
    "gaps": _rows_json(rows, "fixed"),
    "envelope": {
      "gaps": _rows_json(envelope_rows, "best_fixed"),
      "best_fixed_model": best_fixed,
    },
    "gaps_against_steps": {
      m: {
        p.name: {str(s): g.to_json() for s, g in c.items()}
        for p, c in by.items()
      }
      for m, by in against_steps.items()
    },
    "blends": _json(blends),
    "photo_losses": photo,
    "loss_terms": terms,
    "convergence": _json(statements),
    "timings": timings,
    "cpu_seconds": seed_comparison.cpu_summary(
      timings, list(fixed.values()), conditioned
    ),
    "files": [os.path.basename(p) for p in paths],
  }
  steps_tables = {
    m: seed_tables.gap_steps_markdown(by, lambda p: p.name)
    for m, by in against_steps.items()
  }
  return results, markdown(
    results,
    rows,
    baseline,
    statements,
    points,
    steps_tables,
    loss_terms_markdown(terms, short),
    envelope_markdown(envelope_rows, best_fixed, points),
  )


def against_envelope(curves, fixed, step, conditioned):
  """The conditioned models and each point's own fixed model against the
  sweep's envelope (`seed_statistics.envelope`) at `step`.

  Returns:
    (rows, best): `seed_statistics.gap_rows` with the envelope as the
    reference and the methods 'own fixed' and `conditioned` (YOTO, its
    variants and the specialist, those with curves); and
    point name -> seed -> the fixed model that reaches the envelope there.
  """
  losses, chosen = seed_statistics.envelope(curves, list(fixed.values()))
  with_envelope = dict(
    curves,
    **{
      OWN_FIXED: seed_statistics.own_models_curve(curves, fixed),
      BEST_FIXED: losses,
    },
  )
  methods = [OWN_FIXED] + list(conditioned)
  rows = seed_statistics.gap_rows(
    with_envelope, {p: BEST_FIXED for p in fixed}, methods, step
  )
  best = {
    point.name: {
      seed: per_step[step][point]
      for seed, per_step in sorted(chosen.items())
      if point in per_step.get(step, {})
    }
    for point in fixed
  }
  return rows, best


def envelope_markdown(rows, best, points) -> str:
  """The envelope's gap table (`against_envelope`) and, per seed, which
  fixed model reaches the envelope at each point."""
  label = lambda point: point.name
  models = common.markdown_table(
    ["seed", *[p.name for p in points]],
    [
      [seed] + [best[p.name].get(seed, "") for p in points]
      for seed in sorted({s for by_seed in best.values() for s in by_seed})
    ],
  )
  return (
    seed_tables.gap_markdown(
      rows, label="point", label_text=label, reference=BEST_FIXED
    )
    + "\nWhich fixed model reaches the envelope at each point:\n\n"
    + models
  )


def markdown(
  results,
  rows,
  baseline,
  statements,
  points,
  steps_tables,
  terms_table,
  envelope_table,
) -> str:
  """The report: the points, the gaps at the compared step, the same
  against the sweep's envelope (`envelope_table`: `envelope_markdown`),
  the blends' α, the loss terms (`terms_table`: `loss_terms_markdown`), each
  conditioned model's gap against steps (`steps_tables`: model ->
  `seed_tables.gap_steps_markdown`), convergence and CPU time."""
  label = lambda point: point.name
  weights = common.markdown_table(
    ["point", "fixed model"] + [k for k, _ in points[0].weights],
    [[p.name, p.model] + [f"{w:.3g}" for _, w in p.weights] for p in points],
  )
  alpha = lambda chosen, point: (
    f"{chosen[point.name]:g}" if point.name in chosen else ""
  )
  alphas = common.markdown_table(
    ["blend", "seed", *[p.name for p in points]],
    [
      [name, seed] + [alpha(d["best_alpha"], p) for p in points]
      for name, per_seed in results["blends"].items()
      for seed, d in per_seed.items()
    ],
  )
  md = (
    "The paper's Figure-6a weight vectors: Ghiasi et al.'s default "
    "weights (content 2, style 1-3 1e-3, style 4 1e-2) moved onto this "
    "loss network's ranges, and each swept weight x10 and ÷10:\n\n"
    + weights
    + f"\nFull loss on the test split at step {results['compared_step']} "
    f"(seeds {', '.join(map(str, results['seeds']))}): method − fixed "
    "at each point, mean ± 95 % interval over seeds (paired by seed) and "
    "relative to the fixed loss; positive: worse than the fixed model. "
    "The specialist only on the content line; 'blend <weight>' is the "
    "best pixel blend of that weight's two end models (α chosen on the "
    "test images); 'photo' is the content image returned unchanged (the "
    "same at every seed): a fixed model above it learnt nothing useful "
    "at its point.\n\n"
    + seed_tables.gap_markdown(rows, baseline, label="point", label_text=label)
    + "\nAgainst the sweep's envelope: at each point the lowest full loss "
    "that any fixed model of the same seed reaches there. A point's own "
    "fixed model should be that model; 'own fixed' shows how far it is "
    "from it (0 where it is), YOTO and the specialist are compared with "
    "what training the whole sweep and picking the best model for each "
    "point gives (mean ± 95 % interval over seeds, paired):\n\n"
    + envelope_table
    + "\nThe blends' best α (0: the ÷10 model, 1: the x10 model):\n\n"
    + alphas
    + f"\nWhat each loss adds to the full loss at step "
    f"{results['compared_step']} (weight x loss, mean over seeds): the photo "
    "returned unchanged, the point's fixed model and YOTO. Which terms the "
    "models lower from the photo's, and by how much:\n\n"
    + terms_table
    + "".join(
      f"\n{model} − fixed full loss against training steps, at each "
      "point, relative to the fixed loss (mean ± 95 % interval over seeds, "
      "paired): does the gap close as the models train?\n\n" + table
      for model, table in steps_tables.items()
      if table
    )
    + "\nConvergence of the test full loss over the last quarter of the run "
    "(seed mean; a YOTO model at its worst point); 'not plateaued' when "
    f"that is more than {100 * seed_statistics.PLATEAU_SHARE:.0f} % of "
    "the improvement since the first evaluation:\n\n"
    + seed_tables.convergence_markdown(
      statements, "point", "loss units", label_text=label
    )
  )
  md += seed_tables.cpu_markdown(results["cpu_seconds"], len(points))
  return md + "\n" + seed_tables.seconds_line(results["timings"])
