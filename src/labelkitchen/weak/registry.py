"""Label models by versioned name (``"dawid_skene.v1"``): one obvious way to add one.

A name never changes meaning: a model whose behaviour or saved form changes gets a new version.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from labelkitchen.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from labelkitchen.weak.model_base import BaseLabelModel

_MODELS: dict[str, type[BaseLabelModel]] = {}

ModelT = TypeVar("ModelT", bound="type[BaseLabelModel]")


def register_model(name: str) -> Callable[[ModelT], ModelT]:
    """Class decorator registering a label model under ``name`` (``"<noun>.v<n>"``)."""
    stem, _, version = name.rpartition(".v")
    if not stem or not version.isdigit():
        raise InvalidInput(f"a model name looks like 'dawid_skene.v1', got {name!r}")

    def register(cls: ModelT) -> ModelT:
        existing = _MODELS.get(name)
        if existing is not None and existing is not cls:
            raise InvalidInput(f"the model name {name!r} is already taken by {existing.__name__}")
        _MODELS[name] = cls
        cls.model_name = name
        return cls

    return register


def get_model(name: str) -> type[BaseLabelModel]:
    """The label model class registered as ``name``; the error lists the available names."""
    _load_builtin_models()
    cls = _MODELS.get(name)
    if cls is None:
        raise NotFound(f"no label model named {name!r}; available: {available_models()}")
    return cls


def available_models() -> list[str]:
    """Registered model names, sorted."""
    _load_builtin_models()
    return sorted(_MODELS)


def _load_builtin_models() -> None:
    # Importing the modules runs their @register_model decorators.
    from labelkitchen.weak import models  # noqa: F401


__all__ = ["available_models", "get_model", "register_model"]
