"""Stored JSON bodies that stay readable when the models change.

The models forbid unknown fields (a typo in new code should fail loudly), but
a digest stored by another papergist version must still load for `site` and
`publish`: fields this version does not know are dropped, at every depth,
before validation, and missing optional fields take their defaults.
"""

from __future__ import annotations

import json
import typing
from typing import Any

from pydantic import BaseModel

from papergist.models import Digest

DIGEST_SCHEMA = 1
"""Version of the digest JSON this papergist writes (`digests.body_schema`; rows
stored before the column existed hold 1). Bump it with a change that needs a
conversion on load, and convert by version in `load_digest`."""


def dump_digest(digest: Digest) -> str:
    """The JSON body stored for `digest` (version `DIGEST_SCHEMA`)."""
    return digest.model_dump_json()


def load_digest(body: str) -> Digest:
    """A stored digest body, ignoring fields this papergist does not know."""
    return Digest.model_validate(known_fields(Digest, json.loads(body)))


def known_fields(model: type[BaseModel], data: Any) -> Any:
    """`data` with only the fields `model` (and the models inside it) declare."""
    if not isinstance(data, dict):
        return data
    return {name: _prune(field.annotation, data[name])
            for name, field in model.model_fields.items() if name in data}


def _prune(annotation: Any, value: Any) -> Any:
    models = _models_in(annotation)
    if not models:
        return value
    if isinstance(value, list):
        return [_prune(annotation, v) for v in value]
    if isinstance(value, dict) and len(models) == 1:
        return known_fields(models[0], value)
    return value  # ambiguous (a union of models): leave it to validation


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (None, typing.Literal):
        return []
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
