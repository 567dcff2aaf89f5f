"""Benchmarks and the reduced-scale reproduction of the paper's β-VAE results.

Each module is a script, run from the repository root as
`python -m benchmarks.NAME` or `python benchmarks/NAME.py`; see BENCHMARKS.md.
"""
