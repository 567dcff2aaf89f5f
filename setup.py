"""Installs the `yoto` package with the pinned stack of requirements.txt."""

import os

import setuptools

HERE = os.path.dirname(os.path.abspath(__file__))


def _requirements():
  with open(os.path.join(HERE, "requirements.txt")) as f:
    lines = (line.split("#")[0].strip() for line in f)
    return [line for line in lines if line]


setuptools.setup(
    name="yoto",
    version="0.1.0",
    description=("You Only Train Once: loss-conditional training of deep "
                 "networks (TF2 / Keras)."),
    packages=setuptools.find_packages(include=["yoto", "yoto.*"]),
    # TF 2.14 (pinned by tensorflow-compression 2.14.1) has wheels for
    # CPython 3.9 to 3.11.
    python_requires=">=3.9,<3.12",
    install_requires=_requirements(),
)
