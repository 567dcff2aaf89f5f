"""Installs the `yoto` package with the pinned stack of requirements.txt.

The test tools (pytest, papermill, ...) are the 'test' extra
(`pip install -e .[test]`); `./setup.sh` installs all of requirements.txt.
"""

import os

import setuptools

HERE = os.path.dirname(os.path.abspath(__file__))


TEST_SECTION = "# [test]"  # requirements.txt: what follows is the extra.


def _requirements():
  """(runtime, test) pins of requirements.txt, split at its TEST_SECTION."""
  runtime, test = [], []
  target = runtime
  with open(os.path.join(HERE, "requirements.txt")) as f:
    for line in f:
      if line.startswith(TEST_SECTION):
        target = test
      requirement = line.split("#")[0].strip()
      if requirement:
        target.append(requirement)
  if not test:
    raise ValueError(f"requirements.txt has no {TEST_SECTION!r} section.")
  return runtime, test


RUNTIME_REQUIREMENTS, TEST_REQUIREMENTS = _requirements()


setuptools.setup(
  name="yoto",
  version="0.1.0",
  description=(
    "You Only Train Once: loss-conditional training of deep "
    "networks (TF2 / Keras)."
  ),
  packages=setuptools.find_packages(include=["yoto", "yoto.*"]),
  # TF 2.14 (pinned by tensorflow-compression 2.14.1) has wheels for
  # CPython 3.9 to 3.11.
  python_requires=">=3.9,<3.12",
  install_requires=RUNTIME_REQUIREMENTS,
  extras_require={"test": TEST_REQUIREMENTS},
)
