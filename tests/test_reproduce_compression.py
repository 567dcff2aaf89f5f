"""Tests of the compression reproduction (benchmarks/reproduce_compression
and its report): the protocol end to end in --tiny mode, the ablation
variants, and the crop / whole-image evaluation path."""

import ast
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=g-import-not-at-top,wrong-import-position
from benchmarks import common
from benchmarks import compression_report
from benchmarks import reproduce_compression
from yoto import compress
from yoto.analysis import metrics
from yoto.clients import codec as codec_lib
from yoto.weights import contract
from yoto.weights import distributions
import tiny_compression_runs
# pylint: enable=g-import-not-at-top,wrong-import-position


def test_compression_grids_put_yoto_evals_between_the_fixed_models():
  fixed, evals = reproduce_compression.grids(5)
  assert fixed[0] == 0.0012 and fixed[-1] == 0.26
  assert evals[::2] == fixed
  ratios = np.diff(np.log(evals))
  np.testing.assert_allclose(ratios, ratios[0], rtol=0.02)


def _tiny_args(models, out, *more):
  return [
    "--tiny",
    "--num_fixed=3",
    "--seeds=1",
    "--evals=2",
    "--variants=yoto",
    f"--model_root={models}",
    f"--out_dir={out}",
    *more,
  ]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
  """(model root, out dir, results) of a --tiny reproduction, one seed."""
  root = tmp_path_factory.mktemp("tiny_compression_reproduction")
  models, out = root / "models", root / "out"
  return models, out, reproduce_compression.main(_tiny_args(models, out))


def test_compression_reproduction_writes_bd_intervals_tiles_and_figures(
  tiny_run,
):
  models, out, results = tiny_run
  fixed_names = {f"fixed_lmbda{lmbda:g}" for lmbda in results["fixed_lmbdas"]}
  assert set(results["timings"]) == fixed_names | {"yoto"}
  assert results["seeds"] == [0]
  for data in ("test crops", "full photos"):
    bd = results["bd"][data]["yoto"]
    # Three fixed points are too few for the cubic fit.
    assert bd["bd_rate_psnr_cubic"] is None
    # pchip works from two points, unless a tiny run's curves do not overlap.
    pchip = bd["bd_rate_psnr_pchip"]
    assert pchip is None or (pchip["n"] == 1 and pchip["half_width"] is None)
    by_seed = results["bd_per_seed"][data]["yoto"]["bd_rate_psnr_pchip"]
    assert by_seed == {"0": None if pchip is None else pchip["mean"]}
  full = results["curves"]["full photos"]
  assert len(full["yoto"]["lmbda"]) == len(results["eval_lmbdas"])
  assert len(full["fixed"]["bpp"]) == 3
  # Every fixed codec at its λ and YOTO at the three fixed λ, on crops,
  # whole photos and tiles.
  assert len(results["crops_and_tiles"]) == 6
  for row in results["crops_and_tiles"]:
    assert row["tiles"]["bpp"] > 0 and row["full photos"]["bpp"] > 0
  for speed in results["speed_megapixels_per_second"].values():
    assert speed["encode"] > 0 and speed["decode"] > 0
  markdown = (out / "reproduce_compression.md").read_text()
  assert "against training steps" in markdown
  assert "| step | yoto |" in markdown
  for suffix in ("rd", "rd_full", "bd_steps", "decoded"):
    assert os.path.getsize(out / f"reproduce_compression_{suffix}.png") > 1000
  # Only the final step's hub module is exported.
  modules = os.listdir(models / "steps4" / "seed0" / "yoto" / "hub_modules")
  assert len(modules) == 1 and int(modules[0].split("-")[1]) == 4, modules


def test_a_fresh_machine_rebuilds_the_compression_tables_from_the_ledger(
  tiny_run, tmp_path
):
  """The ledger keeps each codec's whole-photo and tile rows (coded while
  its hub module existed): on an empty model root nothing is trained and
  the BD table, the curves and the crops/tiles table come out the same;
  only the decoded images, which need the codecs, are left out."""
  _, out, first = tiny_run
  ledger = out / "ledgers" / "reproduce_compression" / "steps4" / "seed0"
  assert {p.name for p in (ledger / "yoto").iterdir()} >= {
    "metrics.jsonl",
    "full_photos.ledger.json",
    "tiles.ledger.json",
  }
  assert not list(ledger.glob("**/hub_modules")), "no hub module kept"
  fresh = tmp_path / "fresh_models"
  again = reproduce_compression.main(_tiny_args(fresh, out, "--only=none"))
  assert not list(fresh.glob("**/*.index")), "nothing trained again"
  assert again["seeds"] == [0]
  for key in (
    "bd",
    "bd_per_seed",
    "curves",
    "crops_and_tiles",
    "fixed_rate_span",
  ):
    assert again[key] == first[key], key
  assert "reproduce_compression_decoded.png" not in again["files"]


def _build_tiny(spec):
  """The variant's codec, narrowed by TINY_CODEC, built for 64x64 images."""
  _, evals = reproduce_compression.grids(2)
  return common.build_state(
    spec.config,
    reproduce_compression.shared_bindings(4, evals)
    + list(reproduce_compression.TINY_CODEC)
    + list(spec.bindings),
    (64, 64, 3),
    batch_size=2,
  )


def test_every_compression_variant_builds():
  """Each named YOTO variant's bindings build a codec (the ablations)."""
  fixed, _ = reproduce_compression.grids(2)
  specs = reproduce_compression.model_specs(
    fixed, list(reproduce_compression.VARIANTS), steps=4
  )
  for spec in specs:
    if spec.is_yoto:
      state = _build_tiny(spec)
      assert state.problem.analysis_transform is not None, spec.name
  same = next(s for s in specs if s.name == "yoto_same_compute")
  assert same.steps == 4 * len(fixed)


def test_film_gain_variant_triples_the_gain_of_the_mlp_outputs():
  fixed, _ = reproduce_compression.grids(2)
  (spec,) = [
    s
    for s in reproduce_compression.model_specs(fixed, ["yoto_film_gain"])
    if s.is_yoto
  ]
  film = _build_tiny(spec).problem.analysis_transform.films[0]
  assert film.postprocessing.scales_mult == 0.3
  assert film.postprocessing.shifts_mult == 0.3
  assert film.postprocessing.scales_add == 1.0  # Still near the identity.


def test_wide_variant_scales_filters_and_latent_channels_by_four_thirds():
  assert reproduce_compression.widen_bindings(4 / 3) == [
    "HyperpriorCompressionProblem.num_filters = 43",
    "HyperpriorCompressionProblem.num_latent_filters = 171",
  ]


def test_range_variants_move_the_centring_with_the_range():
  low, high = reproduce_compression.LMBDA_RANGE
  bindings = reproduce_compression.VARIANTS["yoto_wider_range"][1](low, high)
  assert bindings[1].endswith("conditioning_input_offset = 'centre'")
  # 'centre' resolves to the log centre of the range the variant trains on.
  params = ast.literal_eval(bindings[0].split("=", 1)[1].strip())
  spec = distributions.DistributionSpec(
    distributions.DistributionType.LOG_UNIFORM, params
  )
  conditioning = contract.LossConditioning.from_spec(
    ["distortion", "rate"], distributions.TransformType.LOG, spec
  )
  np.testing.assert_allclose(
    conditioning.centring_offset(),
    [0.5 * np.log(low / 2 * high * 2), 0.0],
    atol=1e-6,
  )


def test_unknown_compression_variant_is_named_in_the_error():
  with pytest.raises(SystemExit, match="Unknown --variants yoto_bogus"):
    reproduce_compression.variant_names("yoto,yoto_bogus")


def test_tiles_are_cut_row_by_row_without_the_remainders():
  image = np.arange(5 * 7).reshape(5, 7, 1)
  tiles = compression_report.tiles(image, 2)
  assert len(tiles) == 2 * 3
  np.testing.assert_array_equal(tiles[1], image[0:2, 2:4])
  np.testing.assert_array_equal(tiles[3], image[2:4, 0:2])
  assert len(compression_report.tiles(image, 2, limit=4)) == 4


def _codec_run(kind, lmbdas, step):
  """RunMetrics of a codec evaluated at `lmbdas` (a fixed one: its own)."""
  weights = [{"distortion": lmbda, "rate": 1.0} for lmbda in lmbdas]
  return metrics.RunMetrics(
    model_dir=f"/runs/{kind}",
    kind=kind,
    step=step,
    split="test",
    evals={
      metrics.weights_key(w): {
        "actual_bpp": 10 * w["distortion"],
        "psnr": 30.0 + step,
      }
      for w in weights
    },
    eval_weights=tuple(weights),
    train_weights=weights[0] if kind == "fixed" else None,
  )


def test_curves_at_a_step_need_every_fixed_codec_evaluated_there():
  fixed = {
    f"fixed_{lmbda}": {
      step: _codec_run("fixed", [lmbda], step) for step in (2, 4)
    }
    for lmbda in (0.01, 0.1)
  }
  yoto = {
    "yoto": {2: _codec_run("yoto", [0.01, 0.03, 0.1], 2)},
    "yoto_long": {8: _codec_run("yoto", [0.01, 0.1], 8)},
  }
  curves = compression_report.curves_at(fixed, yoto, 4, ["yoto_long"])
  # yoto was not evaluated at step 4; yoto_long is read at its last step.
  assert list(curves) == ["fixed", "yoto_long"]
  np.testing.assert_allclose(curves["fixed"].lmbdas, [0.01, 0.1])
  np.testing.assert_allclose(curves["yoto_long"].quality["psnr"], [38, 38])
  assert len(compression_report.curves_at(fixed, yoto, None)["yoto"].bpp) == 3
  del fixed["fixed_0.1"][4]
  assert compression_report.curves_at(fixed, yoto, 4) == {}


@pytest.fixture(scope="module")
def fixed_codec(tmp_path_factory):
  runs = tiny_compression_runs.get(tmp_path_factory)
  return codec_lib.Codec.load(runs.fixed_module)


def _photo_region(size):
  photo = compression_report.held_out_photos()[0]
  return np.ascontiguousarray(photo[:size, :size])


def test_an_image_of_one_tile_codes_exactly_like_that_tile(fixed_codec):
  image = _photo_region(64)
  lmbda = [fixed_codec.fixed_lmbda]
  whole = compress.evaluate_images(fixed_codec, [image], lmbda)[0]["values"]
  tiled = compress.evaluate_images(
    fixed_codec, compression_report.tiles(image, 64), lmbda
  )[0]["values"]
  for key in ("actual_bpp", "psnr", "pooled_psnr", "distortion"):
    assert whole[key] == pytest.approx(tiled[key], rel=1e-6), key


def test_a_whole_image_and_its_tiles_differ_only_by_their_borders(fixed_codec):
  # 2x2 tiles of 64 have exactly the latent and hyper-latent grid of the
  # 128x128 image; only values near tile borders (zero padding instead of
  # the neighbours) differ. Pooled PSNR is comparable; mean PSNR is not.
  image = _photo_region(128)
  lmbda = [fixed_codec.fixed_lmbda]
  whole = compress.evaluate_images(fixed_codec, [image], lmbda)[0]["values"]
  tiled = compress.evaluate_images(
    fixed_codec, compression_report.tiles(image, 64), lmbda
  )[0]["values"]
  assert whole["pooled_psnr"] == pytest.approx(tiled["pooled_psnr"], abs=1.0)
  assert whole["actual_bpp"] == pytest.approx(tiled["actual_bpp"], rel=0.5)
