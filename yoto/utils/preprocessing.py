"""The preprocessing mini-language used in configs.

Configs describe image preprocessing as a pipeline string such as

    'resize(40)|random_crop(32)|flip_lr()|value_range(-1, 1)'

Each `|`-separated piece is a call `name(args...)` (or a bare `name`) of one of
the ops registered in `preprocessing_ops.OPS`; the empty string is the
identity. Arguments must be Python literals (numbers, strings, tuples, lists,
True/False/None, including negative numbers); keyword arguments work as in
Python: `value_range(vmin=0, vmax=1)`.

Why a parser and not `eval`: pipeline strings come from config files and
command-line `--gin_bindings`, so they are untrusted text. Every piece is parsed
with `ast` and only a call of a registered op with literal arguments is
accepted; everything else (attribute access, nested calls, subscripts, names of
variables, lambdas) is rejected with a `ValueError` that names the offending
piece and lists the known ops. `get_preprocess_fn` validates the whole pipeline
eagerly (syntax, op names, binding the arguments to each op's signature and
checking their types), so a bad config fails before any training starts.

Ops (`yoto.utils.preprocessing_ops`) act on `features['image']`, either one
image `[height, width, channels]` (inside `tf.data.Dataset.map`) or a batch
`[batch, height, width, channels]`.

Randomness (`random_crop`, `flip_lr`) uses stateless random ops. The seed of an
example is read from `features[SEED_KEY]` (an int64 tensor of shape `[2]`,
removed from the output); `yoto.utils.data.get_dataset(seed=...)` provides one
derived from the seed and the position of the example (or of the batch: it
applies a pipeline to whole batches where it can) in the input stream, so a
seeded pipeline yields the same crops and flips on every run, independent of
parallelism, and different ones in every epoch. Without `SEED_KEY` a fresh seed
is drawn from TensorFlow's global generator (non-deterministic unless the
global seed is set). Each random op gets its own seed split from the example
seed, and on a batch every image gets its own crop offset and flip.
"""

import ast
import inspect
from typing import Any, Callable, Dict, List, Optional, Tuple

import tensorflow as tf

from yoto.utils import preprocessing_ops

# Key of the optional per-example seed, an int64 tensor of shape [2].
SEED_KEY = "_preprocess_seed"
# Key of the image feature the ops act on.
IMAGE_KEY = "image"

ParsedOp = Tuple[str, Tuple[Any, ...], Dict[str, Any]]


def known_ops() -> str:
  """Returns a one-per-line description of the ops and their signatures."""
  lines = []
  for name, factory in sorted(preprocessing_ops.OPS.items()):
    signature = inspect.signature(factory).replace(
      return_annotation=inspect.Signature.empty
    )
    lines.append(f"  {name}{signature}")
  return "\n".join(lines)


# ----------------------------------------------------------------------------
# Parsing.


def _error(piece: str, reason: str) -> ValueError:
  return ValueError(
    f"Invalid preprocessing op {piece!r}: {reason}\nKnown ops:\n{known_ops()}"
  )


def _literal(node: ast.AST, piece: str) -> Any:
  """Evaluates an argument node that must be a literal."""
  try:
    return ast.literal_eval(node)
  except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
    raise _error(
      piece,
      f"argument {ast.unparse(node)!r} is not a literal "
      "(only numbers, strings, tuples, lists, True, False and None "
      "are allowed).",
    ) from None


def _parse_piece(piece: str) -> ParsedOp:
  """Parses one `name(args...)` piece into (name, args, kwargs)."""
  text = piece.strip()
  if not text:
    raise _error(piece, 'empty op (stray "|"?).')
  try:
    node = ast.parse(text, mode="eval").body
  except SyntaxError as e:
    raise _error(piece, f"not valid syntax ({e.msg}).") from None
  except (ValueError, MemoryError, RecursionError) as e:
    raise _error(piece, f"cannot be parsed ({type(e).__name__}).") from None
  if isinstance(node, ast.Name):
    call_name, arg_nodes, keyword_nodes = node.id, [], []
  elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
    call_name, arg_nodes, keyword_nodes = node.func.id, node.args, node.keywords
  else:
    raise _error(piece, 'expected a call "name(args...)" of a known op.')
  if call_name not in preprocessing_ops.OPS:
    raise _error(piece, f"unknown op {call_name!r}.")
  if any(isinstance(a, ast.Starred) for a in arg_nodes):
    raise _error(piece, "*args are not allowed.")
  if any(k.arg is None for k in keyword_nodes):
    raise _error(piece, "**kwargs are not allowed.")
  args = tuple(_literal(a, piece) for a in arg_nodes)
  kwargs = {k.arg: _literal(k.value, piece) for k in keyword_nodes}
  try:
    inspect.signature(preprocessing_ops.OPS[call_name]).bind(*args, **kwargs)
  except TypeError as e:
    raise _error(piece, f"bad arguments: {e}.") from None
  return call_name, args, kwargs


def parse_pipeline(pipeline: Optional[str]) -> List[ParsedOp]:
  """Parses a pipeline string into a list of (op_name, args, kwargs).

  Args:
    pipeline: e.g. 'resize(40)|random_crop(32)'; '' or None is the identity.

  Returns:
    One (op_name, args tuple, kwargs dict) per op, in order. The arguments are
    bound to the op's signature (right names and counts) but their types are
    only checked by `get_preprocess_fn`.

  Raises:
    ValueError: for anything but calls of known ops with literal arguments.
  """
  return [op for _, op in _parse_with_text(pipeline)]


def _parse_with_text(pipeline: Optional[str]) -> List[Tuple[str, ParsedOp]]:
  """Like parse_pipeline, but keeps each piece's text for error messages."""
  if pipeline is None:
    return []
  if not isinstance(pipeline, str):
    raise ValueError(f"A pipeline must be a string, got {pipeline!r}.")
  if not pipeline.strip():
    return []
  return [(piece.strip(), _parse_piece(piece)) for piece in pipeline.split("|")]


def _build_op(piece: str, op: ParsedOp) -> preprocessing_ops.ImageFn:
  """Calls the op's factory, which checks the argument values."""
  name, args, kwargs = op
  try:
    return preprocessing_ops.OPS[name](*args, **kwargs)
  except ValueError as e:
    raise _error(piece, str(e)) from None


def _format_op(op: ParsedOp) -> str:
  name, args, kwargs = op
  parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
  return f"{name}({', '.join(parts)})"


def _op_seeds(features: Dict[str, Any], is_random: List[bool]) -> List[Any]:
  """Returns one seed [2] per op (None for deterministic ops).

  The seeds are split from features[SEED_KEY], or from a fresh random seed
  when the features have none.
  """
  if not any(is_random):
    return [None] * len(is_random)
  seed = features.get(SEED_KEY)
  if seed is None:
    seed = tf.random.uniform([2], maxval=tf.int64.max, dtype=tf.int64)
  seeds = tf.random.experimental.stateless_split(
    tf.cast(seed, tf.int64), len(is_random)
  )  # [num_ops, 2]
  return [
    seed if random else None
    for seed, random in zip(tf.unstack(seeds), is_random)
  ]


def get_preprocess_fn(
  pipeline: Optional[str],
) -> Callable[[Dict[str, Any]], Dict[str, Any]]:
  """Returns fn(features) -> features applying `pipeline` to 'image'.

  Args:
    pipeline: a pipeline string (see the module docstring); '' or None gives
      the identity (the seed key is still removed).

  Returns:
    A function of a features dict. It maps `features['image']` ([h, w, c] or
    [b, h, w, c]) through the ops, leaves other features untouched, and drops
    `SEED_KEY`. Random ops draw from the seed in `features[SEED_KEY]` if there.

  Raises:
    ValueError: for an invalid pipeline, before anything runs.
  """
  pieces = _parse_with_text(pipeline)
  ops = [op for _, op in pieces]
  image_fns = [_build_op(piece, op) for piece, op in pieces]
  is_random = [name in preprocessing_ops.RANDOM_OPS for name, _, _ in ops]
  description = "|".join(_format_op(op) for op in ops) or "identity"

  def preprocess(features: Dict[str, Any]) -> Dict[str, Any]:
    features = dict(features)
    if not image_fns:
      features.pop(SEED_KEY, None)
      return features
    if IMAGE_KEY not in features:
      raise ValueError(
        f"Preprocessing {description!r} needs an {IMAGE_KEY!r} "
        f"feature; got keys {sorted(features)}."
      )
    op_seeds = _op_seeds(features, is_random)
    features.pop(SEED_KEY, None)
    image = features[IMAGE_KEY]
    for image_fn, op_seed in zip(image_fns, op_seeds):
      image = image_fn(image, op_seed)
    features[IMAGE_KEY] = image
    return features

  preprocess.__doc__ = f"Applies {description!r} to features[{IMAGE_KEY!r}]."
  # Every op accepts a batch [b, h, w, c] and treats its images independently
  # (own crop offset, own flip), so `data.get_dataset` may batch first and
  # call this once per batch.
  preprocess.supports_batches = True
  return preprocess
