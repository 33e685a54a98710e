"""The exception tree: one root, context that survives pickling, a docstring tree
that names every class, and exit statuses kept on the CLI side (`papergist.exits`)."""

from __future__ import annotations

import importlib
import pickle
import pkgutil
import re

import pytest

import papergist
from papergist import errors
from papergist.errors import PapergistError
from papergist.exits import exit_status
from papergist.http import ResponseTooLarge

CONTEXT = {"url": "https://huggingface.co/api/daily_papers?date=2024-08-26", "status": 503,
           "attempts": 3, "paper_id": "2408.12637"}


def every_error_class() -> list[type[PapergistError]]:
    """Every `PapergistError` subclass defined anywhere in the package, root first."""
    for module in pkgutil.walk_packages(papergist.__path__, "papergist."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found, todo = [], [PapergistError]
    while todo:
        cls = todo.pop(0)
        if cls.__module__.startswith("papergist.") and cls not in found:
            found.append(cls)
            todo.extend(cls.__subclasses__())
    return found


def example(cls: type[PapergistError]) -> PapergistError:
    """An instance of `cls` with a message and every kind of context."""
    special = {
        "SourceRejected": lambda: cls("HF refused: HTTP 400", 400,
                                      **{k: v for k, v in CONTEXT.items() if k != "status"}),
        "DeliveryError": lambda: cls("slack: HTTP 503", False, 2.5, **CONTEXT),
        "IncompleteDigest": lambda: cls("the digest has no papers", **CONTEXT),
        "ResponseTooLarge": lambda: cls("T: larger than 8 MB", 8 * 2**20, **CONTEXT),
    }
    make = special.get(cls.__name__, lambda: cls(f"{cls.__name__} happened", **CONTEXT))
    return make()


def test_the_tree_has_the_documented_classes():
    names = {c.__name__ for c in every_error_class()}
    assert names == {"PapergistError", "UsageError", "ConfigError", "EmptyFeed", "SourceError",
                     "SourceUnavailable", "SourceRejected", "MalformedResponse",
                     "ResponseTooLarge", "SummarizeError", "StoreError", "OutputError",
                     "DeliveryError", "IncompleteDigest"}


@pytest.mark.parametrize("cls", every_error_class(), ids=lambda c: c.__name__)
def test_every_error_pickles_with_its_message_and_context(cls):
    error = example(cls)
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is cls
    assert (str(back), back.message, back.args) == (str(error), error.message, error.args)
    assert vars(back) == vars(error)
    for name, value in CONTEXT.items():
        if name != "status" or cls.__name__ != "SourceRejected":
            assert getattr(back, name) == value, name


def test_special_constructors_keep_their_arguments_as_context():
    rejected = pickle.loads(pickle.dumps(errors.SourceRejected("HF: HTTP 400", 400)))
    assert (rejected.message, rejected.status) == ("HF: HTTP 400", 400)
    delivery = pickle.loads(pickle.dumps(errors.DeliveryError("slack: HTTP 429", False, 2.5)))
    assert (delivery.message, delivery.retryable, delivery.wait) == ("slack: HTTP 429", False, 2.5)
    incomplete = pickle.loads(pickle.dumps(errors.IncompleteDigest("no papers")))
    assert (incomplete.message, incomplete.retryable, incomplete.wait) == ("no papers", False, None)
    large = pickle.loads(pickle.dumps(ResponseTooLarge("T: larger than 1 MB", 2**20)))
    assert (large.message, large.limit) == ("T: larger than 1 MB", 2**20)


def test_with_context_adds_context_to_a_copy():
    error = errors.SourceUnavailable("HF is down", url=CONTEXT["url"])
    more = error.with_context(attempts=3)
    assert type(more) is errors.SourceUnavailable and more is not error
    assert (more.message, more.url, more.attempts) == ("HF is down", CONTEXT["url"], 3)
    assert not hasattr(error, "attempts")
    assert vars(pickle.loads(pickle.dumps(more))) == {"url": CONTEXT["url"], "attempts": 3}


def test_no_error_class_carries_an_exit_code():
    assert [c.__name__ for c in every_error_class() if "exit_code" in dir(c)] == []


@pytest.mark.parametrize(("cls", "status"), [
    ("PapergistError", 1), ("UsageError", 2), ("ConfigError", 2), ("EmptyFeed", 4),
    ("SourceError", 5), ("SourceUnavailable", 5), ("SourceRejected", 5),
    ("MalformedResponse", 5), ("ResponseTooLarge", 5), ("SummarizeError", 1),
    ("StoreError", 6), ("OutputError", 6), ("DeliveryError", 7), ("IncompleteDigest", 7)])
def test_exit_statuses_live_in_one_mapping(cls, status):
    found = {c.__name__: c for c in every_error_class()}
    assert exit_status(example(found[cls])) == status


def drawn_tree() -> list[tuple[int, str]]:
    """(depth, class name) for each line of the tree in `papergist.errors`' docstring."""
    lines = re.findall(r"^    ([│ ├└─]*)(\w+)", errors.__doc__ or "", re.M)
    return [(len(prefix) // 4, name) for prefix, name in lines]


def test_the_docstring_tree_draws_every_error_class_under_its_parent():
    drawn = drawn_tree()
    assert sorted(name for _, name in drawn) == sorted(c.__name__ for c in every_error_class())
    parents: list[str] = []
    for depth, name in drawn:
        parents[depth:] = [name]
        cls = next(c for c in every_error_class() if c.__name__ == name)
        expected = cls.__bases__[0].__name__ if depth else "Exception"
        assert (parents[depth - 1] if depth else "Exception") == expected, name


def test_errors_are_importable_from_their_old_homes():
    from papergist.deliver.transports import DeliveryError
    from papergist.publish import IncompleteDigest

    assert (DeliveryError, IncompleteDigest) == (errors.DeliveryError, errors.IncompleteDigest)
