"""Delivery of rendered digests: files now; email and webhooks later."""
