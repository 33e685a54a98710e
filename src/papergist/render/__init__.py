"""Renderers: pure functions from a `Digest` to text."""
