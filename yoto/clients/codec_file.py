"""The `.yoto` file: one image coded by a compression module.

The file format (version 1) stores everything decoding needs, big-endian:

  magic        4 bytes   b"YOTO"
  version      1 byte    1
  fingerprint  8 bytes   first 8 bytes of the module's weights fingerprint
  lmbda        float32   the λ the image was coded at (the decoder needs it)
  height       uint32    image size in pixels
  width        uint32
  side_length  uint32    bytes of the hyper-latent string
  main_length  uint32    bytes of the latent string
  crc32        uint32    of every byte before it and of the payload
  payload      the hyper-latent string, then the latent string

A truncated or corrupt file is rejected by `CompressedImage.from_bytes` with
a `CodecError` naming the problem; whether the module can decode an intact
file (its fingerprint, λ and announced size) is `codec.Codec`'s to check.
"""

import dataclasses
import struct
import zlib

from yoto.clients import base

MAGIC = b"YOTO"
FORMAT_VERSION = 1
FINGERPRINT_BYTES = 8
# magic, version, fingerprint, λ, height, width, two string lengths.
_FIELDS = struct.Struct(">4sB8sfIIII")
_CRC = struct.Struct(">I")
HEADER_SIZE = _FIELDS.size + _CRC.size


class CodecError(base.ClientError):
  """Bad input to the codec: reported to the user without a traceback."""


@dataclasses.dataclass(frozen=True)
class CompressedImage:
  """One coded image: what a `.yoto` file holds."""

  fingerprint: bytes
  lmbda: float
  height: int
  width: int
  hyper_latent_string: bytes
  latent_string: bytes

  @property
  def num_pixels(self) -> int:
    return self.height * self.width

  def to_bytes(self) -> bytes:
    """The file contents: header, CRC32, payload."""
    fields = _FIELDS.pack(
      MAGIC,
      FORMAT_VERSION,
      self.fingerprint,
      self.lmbda,
      self.height,
      self.width,
      len(self.hyper_latent_string),
      len(self.latent_string),
    )
    payload = self.hyper_latent_string + self.latent_string
    crc = zlib.crc32(payload, zlib.crc32(fields))
    return fields + _CRC.pack(crc) + payload

  @classmethod
  def from_bytes(cls, data: bytes, name: str = "the file") -> "CompressedImage":
    """Parses and checks a file's contents.

    Raises:
      CodecError: for anything but an intact version-1 file.
    """
    if not data:
      raise CodecError(f"{name} is empty.")
    if not MAGIC.startswith(data[: len(MAGIC)]):
      raise CodecError(
        f"{name} is not a YOTO compressed image (it does not "
        f"start with {MAGIC!r})."
      )
    if len(data) < HEADER_SIZE:
      raise CodecError(
        f"{name} is truncated: {len(data)} bytes, shorter than "
        f"the {HEADER_SIZE}-byte header."
      )
    (
      _,
      version,
      fingerprint,
      lmbda,
      height,
      width,
      side_length,
      main_length,
    ) = _FIELDS.unpack_from(data)
    if version != FORMAT_VERSION:
      raise CodecError(
        f"{name} has format version {version}; this yoto "
        f"reads version {FORMAT_VERSION}."
      )
    expected = HEADER_SIZE + side_length + main_length
    if len(data) < expected:
      raise CodecError(
        f"{name} is truncated: the header announces {expected} "
        f"bytes, the file has {len(data)}."
      )
    if len(data) > expected:
      raise CodecError(
        f"{name} is corrupt: {len(data) - expected} bytes "
        "follow the announced end of the data."
      )
    (crc,) = _CRC.unpack_from(data, _FIELDS.size)
    payload = data[HEADER_SIZE:]
    if zlib.crc32(payload, zlib.crc32(data[: _FIELDS.size])) != crc:
      raise CodecError(f"{name} is corrupt: its checksum does not match.")
    if not height or not width:
      raise CodecError(f"{name} is corrupt: image size {height}x{width}.")
    return cls(
      fingerprint,
      lmbda,
      height,
      width,
      payload[:side_length],
      payload[side_length:],
    )


def bpp(coded: CompressedImage, with_header: bool = True) -> float:
  """Bits per pixel of the file (or of the strings alone)."""
  num_bytes = len(coded.hyper_latent_string) + len(coded.latent_string)
  if with_header:
    num_bytes += HEADER_SIZE
  return 8.0 * num_bytes / coded.num_pixels
