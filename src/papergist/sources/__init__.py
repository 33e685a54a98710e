"""Paper sources: each turns a remote API into `papergist.models` values."""
