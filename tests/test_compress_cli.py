"""Tests of the command-line codec (yoto.compress) and its file format."""

import dataclasses
import json
import os
import time

import numpy as np
import image_headers
import pytest
import tensorflow as tf
import tiny_compression_runs

from yoto import compress
from yoto import results
from yoto.analysis import rate_distortion
from yoto.clients import codec as codec_lib
from yoto.clients import codec_file
from yoto.utils import image_files
from yoto.utils import photo_patches

LAMBDA_RANGE = (0.0012, 0.26)


@pytest.fixture(scope="module")
def modules(tmp_path_factory):
  """The hub modules of the tiny YOTO and fixed-λ (0.01) compression runs."""
  runs = tiny_compression_runs.get(tmp_path_factory)
  return {"yoto": runs.yoto_module, "fixed": runs.fixed_module}


@pytest.fixture(scope="module")
def image_path(tmp_path_factory):
  """A 37 x 53 crop of a real photo (sizes not divisible by 16 or 64)."""
  photo = photo_patches.load_photo("chelsea")[100:137, 150:203, :3]
  path = str(tmp_path_factory.mktemp("images") / "cat.png")
  image_files.write_image(path, photo)
  return path


def _run(capsys, *argv):
  code = compress.main([str(a) for a in argv])
  captured = capsys.readouterr()
  return code, captured.out, captured.err


def _compressed(
  capsys, modules, image_path, tmp_path, lmbda="0.01", module="yoto"
):
  out = tmp_path / "out.yoto"
  code, _, err = _run(
    capsys,
    "compress",
    f"--module={modules[module]}",
    f"--lmbda={lmbda}",
    image_path,
    out,
  )
  assert code == 0, err
  return out


def test_round_trip_restores_the_module_reconstruction(
  capsys, modules, image_path, tmp_path
):
  out = tmp_path / "out.yoto"
  code, stdout, _ = _run(
    capsys,
    "compress",
    f"--module={modules['yoto']}",
    "--lmbda=0.02",
    image_path,
    out,
  )
  assert code == 0 and "bpp" in stdout and "PSNR" in stdout
  restored = tmp_path / "restored.png"
  code, stdout, _ = _run(
    capsys,
    "decompress",
    f"--module={modules['yoto']}",
    f"--original={image_path}",
    out,
    restored,
  )
  assert code == 0 and "PSNR" in stdout and "λ=0.02" in stdout
  decoded = image_files.read_image(str(restored))
  codec = codec_lib.Codec.load(modules["yoto"])
  expected, _ = codec.reconstruct(image_files.read_image(image_path), 0.02)
  assert decoded.shape == (37, 53, 3)
  np.testing.assert_array_equal(decoded, expected)


def test_model_dir_resolves_to_its_newest_module(modules):
  model_dir = os.path.dirname(os.path.dirname(modules["yoto"]))
  assert codec_lib.Codec.load(model_dir).path == modules["yoto"]


def test_file_holds_lambda_shape_and_version(
  capsys, modules, image_path, tmp_path
):
  out = _compressed(capsys, modules, image_path, tmp_path, lmbda="0.05")
  data = out.read_bytes()
  assert data[:4] == b"YOTO" and data[4] == codec_file.FORMAT_VERSION
  coded = codec_file.CompressedImage.from_bytes(data)
  assert (coded.height, coded.width) == (37, 53)
  assert coded.lmbda == pytest.approx(0.05)
  assert coded.to_bytes() == data


def _rejected(capsys, *argv):
  code, stdout, err = _run(capsys, *argv)
  assert code == 1 and not stdout
  return err


@pytest.mark.parametrize(
  "damage,message",
  [
    (lambda d: d[: codec_file.HEADER_SIZE - 3], "truncated"),
    (lambda d: d[:-5], "truncated"),
    (lambda d: d + b"x", "corrupt"),
    (lambda d: d[:-1] + bytes([d[-1] ^ 1]), "corrupt"),
    (lambda d: d[:10] + bytes([d[10] ^ 4]) + d[11:], "corrupt"),
    (lambda d: b"PNG!" + d[4:], "not a YOTO compressed image"),
    (lambda d: b"", "empty"),
    (lambda d: d[:4] + b"\x09" + d[5:], "version 9"),
  ],
)
def test_decompress_rejects_damaged_files(
  capsys, modules, image_path, tmp_path, damage, message
):
  out = _compressed(capsys, modules, image_path, tmp_path)
  bad = tmp_path / "bad.yoto"
  bad.write_bytes(damage(out.read_bytes()))
  err = _rejected(
    capsys,
    "decompress",
    f"--module={modules['yoto']}",
    bad,
    tmp_path / "never.png",
  )
  assert message in err
  assert not (tmp_path / "never.png").exists()


def test_decompress_rejects_a_file_from_another_module(
  capsys, modules, image_path, tmp_path
):
  out = _compressed(capsys, modules, image_path, tmp_path)
  coded = codec_file.CompressedImage.from_bytes(out.read_bytes())
  # What another model's file looks like: an intact file, another fingerprint.
  other = dataclasses.replace(coded, fingerprint=bytes(8))
  out.write_bytes(other.to_bytes())
  err = _rejected(
    capsys,
    "decompress",
    f"--module={modules['yoto']}",
    out,
    tmp_path / "never.png",
  )
  assert "different model" in err


def test_compress_rejects_a_non_image(capsys, modules, tmp_path):
  text = tmp_path / "notes.png"
  text.write_text("not an image")
  err = _rejected(
    capsys,
    "compress",
    f"--module={modules['yoto']}",
    "--lmbda=0.01",
    text,
    tmp_path / "out.yoto",
  )
  assert "is not a readable image" in err


@pytest.mark.parametrize(
  "lmbda,message",
  [
    ("0.5", "outside [0.0012, 0.26]"),
    ("0.0001", "outside [0.0012, 0.26]"),
    ("-1", "positive"),
  ],
)
def test_compress_rejects_lambda_outside_the_range(
  capsys, modules, image_path, tmp_path, lmbda, message
):
  err = _rejected(
    capsys,
    "compress",
    f"--module={modules['yoto']}",
    f"--lmbda={lmbda}",
    image_path,
    tmp_path / "out.yoto",
  )
  assert message in err


def test_yoto_module_needs_lambda(capsys, modules, image_path, tmp_path):
  err = _rejected(
    capsys,
    "compress",
    f"--module={modules['yoto']}",
    image_path,
    tmp_path / "out.yoto",
  )
  assert "--lmbda" in err


def test_fixed_module_codes_at_its_own_lambda_only(
  capsys, modules, image_path, tmp_path
):
  out = tmp_path / "fixed.yoto"
  code, _, _ = _run(
    capsys, "compress", f"--module={modules['fixed']}", image_path, out
  )
  assert code == 0
  assert codec_file.CompressedImage.from_bytes(
    out.read_bytes()
  ).lmbda == pytest.approx(0.01)
  code, _, _ = _run(
    capsys,
    "decompress",
    f"--module={modules['fixed']}",
    out,
    tmp_path / "fixed.png",
  )
  assert code == 0
  err = _rejected(
    capsys,
    "compress",
    f"--module={modules['fixed']}",
    "--lmbda=0.1",
    image_path,
    tmp_path / "x.yoto",
  )
  assert "single λ=0.01" in err


def test_missing_module_is_a_clear_error(capsys, image_path, tmp_path):
  err = _rejected(
    capsys,
    "compress",
    f"--module={tmp_path}",
    "--lmbda=0.01",
    image_path,
    tmp_path / "out.yoto",
  )
  assert "neither a hub module" in err


def test_evaluate_appends_rate_distortion_rows(
  capsys, modules, image_path, tmp_path
):
  metrics_file = tmp_path / "metrics.jsonl"
  code, stdout, err = _run(
    capsys,
    "evaluate",
    f"--module={modules['yoto']}",
    f"--images={os.path.dirname(image_path)}/*.png",
    "--lmbda=0.0012,0.26",
    "--split=kodak",
    f"--metrics_file={metrics_file}",
  )
  assert code == 0, err
  assert "MP/s" in stdout
  rows = results.read_rows(str(metrics_file))
  assert [r["weights"] for r in rows] == [
    {"distortion": 0.0012, "rate": 1.0},
    {"distortion": 0.26, "rate": 1.0},
  ]
  for row in rows:
    assert row["split"] == "kodak"
    assert row["step"] == tiny_compression_runs.STEPS
    assert row["num_examples"] == 1 and row["model"] == "yoto"
    values = row["values"]
    header_bpp = 8 * codec_file.HEADER_SIZE / (37 * 53)
    assert values["file_bpp"] == pytest.approx(
      values["actual_bpp"] + header_bpp
    )
    assert {
      "psnr",
      "ms_ssim",
      "ms_ssim_db",
      "estimated_bpp",
      "full_loss",
    } <= set(values)
  json.dumps(rows)


def test_sweep_codes_one_image_at_each_lambda(modules, image_path):
  codec = codec_lib.Codec.load(modules["yoto"])
  image = image_files.read_image(image_path)
  points = compress.sweep(codec, image, [0.0012, 0.26])
  assert [p.lmbda for p in points] == pytest.approx([0.0012, 0.26])
  for point in points:
    assert point.decoded.shape == image.shape and point.bpp > 0
    assert point.psnr == pytest.approx(compress.psnr(image, point.decoded))
  figure = rate_distortion.sweep_figure(image, points, title="cat")
  assert len(figure.axes) == 3


def _forged(data: bytes, **fields) -> bytes:
  """The file with header fields replaced and its CRC recomputed."""
  coded = codec_file.CompressedImage.from_bytes(data)
  return dataclasses.replace(coded, **fields).to_bytes()


def test_decompress_refuses_a_huge_announced_size_quickly(
  capsys, modules, image_path, tmp_path
):
  out = _compressed(capsys, modules, image_path, tmp_path)
  bad = tmp_path / "bomb.yoto"
  bad.write_bytes(_forged(out.read_bytes(), height=60000, width=60000))
  start = time.perf_counter()
  err = _rejected(
    capsys,
    "decompress",
    f"--module={modules['yoto']}",
    bad,
    tmp_path / "never.png",
  )
  assert time.perf_counter() - start < 5.0
  assert "60000x60000" in err and "--max_pixels" in err
  assert len(err.strip().splitlines()) == 1
  assert not (tmp_path / "never.png").exists()


def test_decompress_refuses_a_size_its_strings_cannot_code(
  capsys, modules, image_path, tmp_path
):
  out = _compressed(capsys, modules, image_path, tmp_path)
  bad = tmp_path / "forged.yoto"
  bad.write_bytes(_forged(out.read_bytes(), height=2**31 - 1, width=8))
  err = _rejected(
    capsys,
    "decompress",
    f"--module={modules['yoto']}",
    f"--max_pixels={2**40}",
    bad,
    tmp_path / "never.png",
  )
  assert "can code at most" in err
  assert len(err.strip().splitlines()) == 1


def test_module_decompress_checks_image_shape_against_strings(
  capsys, modules, image_path, tmp_path
):
  out = _compressed(capsys, modules, image_path, tmp_path)
  coded = codec_file.CompressedImage.from_bytes(out.read_bytes())
  codec = codec_lib.Codec.load(modules["yoto"])
  with pytest.raises(tf.errors.InvalidArgumentError, match="image_shape"):
    codec.module.signatures["decompress"](
      latent_strings=tf.constant([coded.latent_string]),
      hyper_latent_strings=tf.constant([coded.hyper_latent_string]),
      image_shape=tf.constant([2**30, 2**30], tf.int32),
      lmbda=tf.constant(coded.lmbda),
    )


def test_compress_refuses_a_huge_png_from_its_header(capsys, modules, tmp_path):
  huge = tmp_path / "huge.png"
  huge.write_bytes(image_headers.png_header(30000, 30000))
  start = time.perf_counter()
  err = _rejected(
    capsys,
    "compress",
    f"--module={modules['yoto']}",
    "--lmbda=0.01",
    huge,
    tmp_path / "out.yoto",
  )
  assert time.perf_counter() - start < 5.0
  assert "30000x30000" in err and "--max_pixels" in err
  assert not (tmp_path / "out.yoto").exists()


def test_max_pixels_flag_bounds_compress(capsys, modules, image_path, tmp_path):
  err = _rejected(
    capsys,
    "compress",
    f"--module={modules['yoto']}",
    "--lmbda=0.01",
    "--max_pixels=1000",
    image_path,
    tmp_path / "out.yoto",
  )
  assert "53x37 = 1961 pixels" in err
  code, _, err = _run(
    capsys,
    "compress",
    f"--module={modules['yoto']}",
    "--lmbda=0.01",
    "--max_pixels=1961",
    image_path,
    tmp_path / "out.yoto",
  )
  assert code == 0, err


@pytest.mark.parametrize(
  "lmbda, message",
  [
    (float("nan"), "must be finite"),
    (float("inf"), "must be finite"),
    (
      [0.01, 0.01, 0.01],
      "one weight vector per example for a batch of a different size",
    ),
  ],
)
def test_module_rejects_bad_lambda(modules, lmbda, message):
  codec = codec_lib.Codec.load(modules["yoto"])
  with pytest.raises(tf.errors.InvalidArgumentError, match=message):
    codec.module.signatures["compress"](
      image=tf.zeros([2, 16, 16, 3]), lmbda=tf.constant(lmbda)
    )


@pytest.mark.parametrize(
  "image, message",
  [
    (tf.zeros([1, 16, 16, 1]), r"\[batch, height, width, 3\]"),
    (tf.zeros([1, 0, 16, 3]), "at least 1"),
    (tf.zeros([1, 16, 16, 3], tf.uint8), "expected to be a float tensor"),
  ],
)
def test_module_rejects_bad_images(modules, image, message):
  codec = codec_lib.Codec.load(modules["yoto"])
  for name in ("compress", "reconstruct"):
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
      codec.module.signatures[name](image=image, lmbda=tf.constant(0.01))
