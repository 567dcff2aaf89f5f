"""Image files that are large as far as their header goes, for bound tests."""

import struct
import zlib


def png_header(width: int, height: int) -> bytes:
  """A PNG announcing width x height, with only a few bytes of pixels.

  Enough for a header reader (PIL.Image.open); a decoder would fail or
  allocate the whole image, which is what the bound must prevent.
  """

  def chunk(kind, body):
    return (
      struct.pack(">I", len(body))
      + kind
      + body
      + struct.pack(">I", zlib.crc32(kind + body))
    )

  ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
  return (
    b"\x89PNG\r\n\x1a\n"
    + chunk(b"IHDR", ihdr)
    + chunk(b"IDAT", zlib.compress(bytes(64)))
    + chunk(b"IEND", b"")
  )
