"""Delivery: output files, and digests sent to email and chat channels (targets, claims, updates)."""
