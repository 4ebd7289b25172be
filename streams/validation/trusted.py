"""Pydantic models built from values that already have their fields' types.

A line builds about ten models (findings, the verdict, its enrichment, its claim line,
the claim's state) out of values that came from a validated event, the reference
data or another model. Validating them again costs about twice building them
directly, and pydantic's `model_construct`, which fills defaults in Python, costs
more than validating (pydantic 2.14). `trusted` and `replaced` set the instance's
state as validation would leave it; the serialized JSON and `==` are the same.

The caller passes every field, defaults included, each of its field's type (an enum
member, not its text; a float, not an int): nothing is checked or converted.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_new = object.__new__
_set = object.__setattr__


def trusted(cls: type[M], fields: dict[str, Any]) -> M:
    """An instance of `cls` holding `fields` (every field of `cls`, already valid)."""
    obj = _new(cls)
    _set(obj, "__dict__", fields)
    _set(obj, "__pydantic_fields_set__", set(fields))
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj


def replaced(model: M, **changes: Any) -> M:
    """`model.model_copy(update=changes)` at half its cost: a shallow copy with `changes`."""
    obj = _new(type(model))
    _set(obj, "__dict__", {**model.__dict__, **changes})
    _set(obj, "__pydantic_fields_set__", model.__pydantic_fields_set__.union(changes))
    _set(obj, "__pydantic_extra__", model.__pydantic_extra__)
    _set(obj, "__pydantic_private__", model.__pydantic_private__)
    return obj
