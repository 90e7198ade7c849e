"""Differentiable ops, grouped by family; each Function's forward and backward sit together."""
