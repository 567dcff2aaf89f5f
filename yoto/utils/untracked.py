"""A holder that keeps an object out of tf.Module tracking."""


class Untracked:
  """Holds `value` so that the holding tf.Module does not track it.

  An attribute holding a tf.Module (or a Keras layer) makes it part of the
  holder's checkpoints and SavedModels. Frozen networks rebuilt from their
  own files, and the problem an exported module calls through, must not
  be: they are held as `Untracked(x)` and reached as `.value`.
  """

  def __init__(self, value):
    self.value = value
