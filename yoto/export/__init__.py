"""Exported hub modules: one base (`base.ExportModule`) and one module per
problem (`vae`, `compression`, `style_transfer`)."""
