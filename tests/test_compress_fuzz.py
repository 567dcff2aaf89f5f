"""A seeded fuzz test of the `.yoto` file format (yoto.clients.codec_file,
decoded by yoto.clients.codec).

Valid files of the tiny YOTO codec are mutated a few hundred ways: random bit
flips, truncations and extensions (the CRC must catch them all), every header
field set to 0, 1, its maximum and random values with the CRC recomputed,
swapped, emptied and scrambled strings with the CRC recomputed. Each mutant
is decoded in-process, as `python -m yoto.compress decompress` does: it must
be refused with a one-line `CodecError`, or decode to a well-formed image of
the size its header announces (the same image as the original when the
mutation left the decoded content unchanged); nothing else, and never slowly.
"""

import dataclasses
import struct
import time
import zlib
from typing import List, Tuple

import numpy as np
import pytest
import tiny_compression_runs

from yoto.clients import codec as codec_lib
from yoto.clients import codec_file
from yoto.utils import photo_patches

SEED = 15
# Small, so that a forged size the bound lets through still decodes quickly.
MAX_PIXELS = 256 * 256
MAX_SECONDS_PER_DECODE = 5.0
NUM_BIT_FLIPS = 200
NUM_TRUNCATIONS = 50
NUM_EXTENSIONS = 30
NUM_RANDOM_FIELD_VALUES = 4
NUM_PAYLOAD_MUTATIONS = 100

# Header fields after the magic: (name, struct format, offset).
_FIELDS = (
  ("version", "B", 4),
  ("fingerprint", "8s", 5),
  ("lmbda", "f", 13),
  ("height", "I", 17),
  ("width", "I", 21),
  ("side_length", "I", 25),
  ("main_length", "I", 29),
)

Mutation = Tuple[str, bytes]


@pytest.fixture(scope="module")
def codec(tmp_path_factory):
  runs = tiny_compression_runs.get(tmp_path_factory)
  return codec_lib.Codec.load(runs.yoto_module)


@pytest.fixture(scope="module")
def original(codec):
  """(file bytes, decoded uint8 image) of a 37 x 53 photo crop at λ=0.01."""
  photo = photo_patches.load_photo("chelsea")[100:137, 150:203, :3]
  data = codec.compress(photo, 0.01).to_bytes()
  return data, codec.decompress(codec_file.CompressedImage.from_bytes(data))


def _with_crc(data: bytes) -> bytes:
  """The CRC recomputed for the (possibly changed) header and payload."""
  head = data[: codec_file.HEADER_SIZE - 4]
  payload = data[codec_file.HEADER_SIZE :]
  crc = zlib.crc32(payload, zlib.crc32(head))
  return head + struct.pack(">I", crc) + payload


def _set_field(data: bytes, fmt: str, offset: int, value) -> bytes:
  packed = struct.pack(">" + fmt, value)
  return _with_crc(data[:offset] + packed + data[offset + len(packed) :])


def _field_values(fmt, rng) -> List:
  """0, 1, the maximum and random values of a header field of format `fmt`."""
  if fmt == "8s":
    return [
      bytes(8),
      b"\x00" * 7 + b"\x01",
      b"\xff" * 8,
      *(rng.bytes(8) for _ in range(NUM_RANDOM_FIELD_VALUES)),
    ]
  if fmt == "f":
    return [
      0.0,
      1.0,
      np.finfo(np.float32).max,
      float("nan"),
      float("inf"),
      -0.01,
      *rng.uniform(-1, 1, NUM_RANDOM_FIELD_VALUES),
    ]
  maximum = 2 ** (8 * struct.calcsize(fmt)) - 1
  return [
    0,
    1,
    maximum,
    *(
      int(v)
      for v in rng.integers(0, maximum, NUM_RANDOM_FIELD_VALUES, endpoint=True)
    ),
    *(
      int(v)
      for v in rng.integers(0, min(maximum, 300), NUM_RANDOM_FIELD_VALUES)
    ),
  ]


def mutations(data: bytes, seed: int = SEED) -> List[Mutation]:
  """(description, mutated bytes) of a valid file, all drawn from `seed`."""
  rng = np.random.default_rng(seed)
  found = []
  for _ in range(NUM_BIT_FLIPS):
    flipped = bytearray(data)
    for bit in rng.choice(8 * len(data), rng.integers(1, 9), replace=False):
      flipped[bit // 8] ^= 1 << (bit % 8)
    found.append(("bit flips", bytes(flipped)))
  for length in rng.integers(0, len(data), NUM_TRUNCATIONS):
    found.append((f"truncated to {length}", data[:length]))
  for length in rng.integers(1, 100, NUM_EXTENSIONS):
    found.append((f"extended by {length}", data + rng.bytes(int(length))))
  for name, fmt, offset in _FIELDS:
    for value in _field_values(fmt, rng):
      found.append((f"{name}={value!r}", _set_field(data, fmt, offset, value)))
  coded = codec_file.CompressedImage.from_bytes(data)
  variants = {
    "strings swapped": (coded.latent_string, coded.hyper_latent_string),
    "empty latent": (coded.hyper_latent_string, b""),
    "empty hyper-latent": (b"", coded.latent_string),
    "both empty": (b"", b""),
  }
  for _ in range(NUM_PAYLOAD_MUTATIONS):
    strings = [
      bytearray(coded.hyper_latent_string),
      bytearray(coded.latent_string),
    ]
    which = int(rng.integers(2))
    if strings[which]:
      position = int(rng.integers(len(strings[which])))
      strings[which][position] = int(rng.integers(256))
    variants[f"payload byte changed ({len(variants)})"] = tuple(
      bytes(s) for s in strings
    )
  for description, (side, main) in variants.items():
    found.append(
      (
        description,
        dataclasses.replace(
          coded, hyper_latent_string=side, latent_string=main
        ).to_bytes(),
      )
    )
  return found


def _decode(codec, data) -> Tuple[codec_file.CompressedImage, np.ndarray]:
  """Parses and decodes like `yoto.compress decompress`; may raise CodecError."""
  coded = codec_file.CompressedImage.from_bytes(data, "mutant.yoto")
  return coded, codec.decompress(coded, "mutant.yoto", MAX_PIXELS)


def _same_content(coded, valid) -> bool:
  """Whether a mutant holds what decoding reads of the valid file."""
  return (
    coded.hyper_latent_string,
    coded.latent_string,
    coded.height,
    coded.width,
    coded.lmbda,
  ) == (
    valid.hyper_latent_string,
    valid.latent_string,
    valid.height,
    valid.width,
    valid.lmbda,
  )


def test_mutations_are_seeded_and_many(original):
  data, _ = original
  first, second = mutations(data), mutations(data)
  assert [m for _, m in first] == [m for _, m in second]
  assert len(first) >= 300
  assert len({m for _, m in first}) > 0.9 * len(first)


def test_every_mutant_is_refused_clearly_or_decodes_to_an_image(
  codec, original
):
  data, expected = original
  valid = codec_file.CompressedImage.from_bytes(data)
  outcomes = {"refused": 0, "decoded": 0}
  for description, mutant in mutations(data):
    start = time.perf_counter()
    try:
      coded, image = _decode(codec, mutant)
    except codec_file.CodecError as e:
      message = str(e)
      assert message and "\n" not in message, (description, message)
      outcomes["refused"] += 1
    else:
      # Whatever else went wrong, it is an image of the announced size.
      assert image.dtype == np.uint8, description
      assert image.shape == (coded.height, coded.width, 3), description
      if _same_content(coded, valid):
        np.testing.assert_array_equal(image, expected, err_msg=description)
      outcomes["decoded"] += 1
    elapsed = time.perf_counter() - start
    assert elapsed < MAX_SECONDS_PER_DECODE, (description, elapsed)
  # Both outcomes occur: the test exercises the decoder, not only the CRC.
  assert outcomes["refused"] > 0 and outcomes["decoded"] > 0, outcomes
  print(f"fuzz outcomes: {outcomes}")


def test_crc_catches_every_unrepaired_mutation(codec, original):
  data, _ = original
  for description, mutant in mutations(data):
    if description.startswith(("bit flips", "truncated", "extended")):
      with pytest.raises(codec_file.CodecError):
        _decode(codec, mutant)
