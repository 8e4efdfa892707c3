"""Registry of named model variants, each with its paper card.

A *variant* is a model class (or factory) plus the keyword arguments that make it the paper's
configuration, plus a :class:`ModelCard` holding what the paper reports. Tables in the book are
generated from these cards and from our measurements, which are kept apart: a card holds only
quoted numbers (:class:`Reported`), never computed ones.

    >>> import cnnpapers
    >>> model = cnnpapers.create_model("densenet_bc_100_k12", num_classes=10, in_channels=1)
    >>> cnnpapers.model_info("densenet_bc_100_k12").reported.params
    '0.8'
"""

from __future__ import annotations

import collections.abc
import difflib
import enum
import fnmatch
import inspect
import re
import types
import typing
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Iterable, Mapping

import torch
from torch import nn

from .papers import Paper, get_paper


class Category(str, enum.Enum):
    """The survey's taxonomy (note 001; Khan et al. 2020, Fig. 3), in its order."""

    SPATIAL = "Spatial exploitation"
    DEPTH = "Depth"
    MULTI_PATH = "Multi-path"
    WIDTH = "Width / multi-connection"
    FEATURE_MAP = "Feature-map exploitation"
    CHANNEL_BOOSTING = "Channel boosting"
    ATTENTION = "Attention"


@dataclass(frozen=True)
class Reported:
    """Numbers *quoted* from a paper or the notes, exactly as printed there.

    ``params`` is a string of millions as printed ("0.8", "25.6") so that its rounding is known;
    ``gflops`` likewise, with ``flops_unit`` saying whether the paper counted multiply-adds
    ("MACs", what most CNN papers call FLOPs) or FLOPs (2 per multiply-add). ``errors`` maps a
    benchmark column (e.g. "C10+", "ImageNet top-1") to the error rate in percent. ``source``
    says where the numbers are printed (paper, table, row), ``remark`` anything odd about them.
    """

    source: str
    params: str | None = None
    gflops: str | None = None
    flops_unit: str = "MACs"
    errors: dict[str, float] = field(default_factory=dict)
    remark: str = ""

    @property
    def params_count(self) -> float | None:
        return None if self.params is None else float(self.params) * 1e6

    def params_match(self, count: int) -> bool:
        """True when ``count`` rounds to the printed figure at the paper's precision."""
        if self.params is None:
            raise ValueError(f"no reported parameter count ({self.source})")
        printed = Decimal(self.params)
        ours = (Decimal(count) / Decimal(10**6)).quantize(printed)
        return ours == printed


@dataclass(frozen=True)
class ModelCard:
    name: str
    family: str
    paper: Paper
    category: Category
    input_size: tuple[int, int, int]  # native (C, H, W)
    num_classes: int
    min_input_size: int  # smallest H = W the model accepts
    depth: int | None = None  # weighted layers, as the paper counts them
    reported: Reported | None = None
    torchvision: str | None = None  # name of the torchvision builder with the same architecture
    departure: str = ""  # where this variant departs from the paper, and why
    description: str = ""


@dataclass(frozen=True)
class Variant:
    card: ModelCard
    factory: Callable[..., nn.Module]
    defaults: dict[str, Any]

    def hyper_parameters(self) -> list[str]:
        params = inspect.signature(self.factory).parameters
        return [n for n, p in params.items() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]


_REGISTRY: dict[str, Variant] = {}


def register_model(
    name: str,
    factory: Callable[..., nn.Module],
    *,
    paper: str,
    category: Category,
    input_size: tuple[int, int, int],
    num_classes: int,
    min_input_size: int,
    depth: int | None = None,
    reported: Reported | None = None,
    torchvision: str | None = None,
    departure: str = "",
    description: str = "",
    **defaults: Any,
) -> None:
    """Register ``factory(**defaults)`` as the variant ``name``; duplicates are refused."""
    if name in _REGISTRY:
        raise ValueError(f"model {name!r} is registered twice")
    family = factory.__module__.rsplit(".", 1)[-1]
    card = ModelCard(
        name=name, family=family, paper=get_paper(paper), category=Category(category),
        input_size=input_size, num_classes=num_classes, min_input_size=min_input_size,
        depth=depth, reported=reported, torchvision=torchvision, departure=departure,
        description=description or _first_line(factory.__doc__),
    )
    variant = Variant(card, factory, dict(defaults))
    unknown = set(defaults) - set(variant.hyper_parameters())
    if unknown:
        raise TypeError(f"{name}: {factory.__qualname__} takes no argument(s) {sorted(unknown)}")
    _REGISTRY[name] = variant


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().split("\n")[0]


def _variant(name: str) -> Variant:
    _load_zoo()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"unknown model {name!r}.{did_you_mean(name, _REGISTRY)} See "
            f"cnnpapers.list_models() for all {len(_REGISTRY)} names."
        ) from None


def _load_zoo() -> None:
    from . import models  # noqa: F401  (importing the package registers every family)


def list_models(pattern: str | None = None, category: Category | str | None = None) -> list[str]:
    """Sorted names of registered variants, filtered by a glob ``pattern`` and/or ``category``."""
    _load_zoo()
    names = sorted(_REGISTRY)
    if pattern:
        names = fnmatch.filter(names, pattern)
    if category is not None:
        try:
            cat = category if isinstance(category, Category) else Category(category)
        except ValueError:
            raise ValueError(
                f"unknown category {category!r}; choose one of {[c.value for c in Category]}"
            ) from None
        names = [n for n in names if _REGISTRY[n].card.category is cat]
    return names


def model_info(name: str) -> ModelCard:
    return _variant(name).card


def create_model(
    name: str,
    num_classes: int | None = None,
    in_channels: int | None = None,
    **overrides: Any,
) -> nn.Module:
    """Build the registered variant ``name``.

    ``num_classes`` and ``in_channels`` default to the paper's; ``overrides`` replace any other
    hyper-parameter of the variant (e.g. ``memory_efficient=True``). The returned model checks
    the shape of its input and raises a ``ValueError`` naming the valid shape.
    """
    variant = _variant(name)
    card = variant.card
    kwargs = dict(variant.defaults)
    kwargs["num_classes"] = card.num_classes if num_classes is None else num_classes
    kwargs["in_channels"] = card.input_size[0] if in_channels is None else in_channels
    valid = variant.hyper_parameters()
    unknown = sorted(set(overrides) - set(valid))
    if unknown:
        raise ValueError(f"{name} has no hyper-parameter {unknown}; valid ones: {valid}")
    kwargs.update(overrides)
    for key in ("num_classes", "in_channels"):
        if not isinstance(kwargs[key], int) or kwargs[key] < 1:
            raise ValueError(f"{key} must be a positive integer, got {kwargs[key]!r}")
    model = variant.factory(**kwargs)
    model.register_forward_pre_hook(_InputCheck(name, kwargs["in_channels"], card.min_input_size))
    return model


class _InputCheck:
    """Forward pre-hook: one clear error for a wrongly shaped input instead of a deep crash."""

    def __init__(self, name: str, in_channels: int, min_size: int):
        self.name, self.in_channels, self.min_size = name, in_channels, min_size

    def __call__(self, module: nn.Module, args: tuple) -> None:
        x = args[0]
        if (
            isinstance(x, torch.Tensor)
            and x.dim() == 4
            and x.shape[1] == self.in_channels
            and min(x.shape[2:]) >= self.min_size
        ):
            return
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(
            f"{self.name} expects a batch of shape (N, {self.in_channels}, H, W) with "
            f"H, W >= {self.min_size}; got {shape}. Resize the input, or build the model with "
            f"in_channels matching your data."
        )


def count_parameters(name: str, **kwargs: Any) -> int:
    """Parameter count of a variant, built on the meta device so no memory is allocated."""
    with torch.device("meta"):
        model = create_model(name, **kwargs)
    return sum(p.numel() for p in model.parameters())


# --------------------------------------------------------------------------- names and text


def _spelling(name: str) -> str:
    """A name as people misspell it: case and separators ('-', '_', spaces) do not count."""
    return re.sub(r"[-_\s]", "", name.lower())


def suggest(name: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """The (at most ``n``) choices a mistyped ``name`` most likely meant.

    A choice spelled the same but for case and separators wins outright ('LeNet5', 'resnet-50');
    otherwise the closest by edit distance ('densnet_bc_100_k12') and those containing the name
    or contained in it ('mnist' for 'fashion-mnist'), closest first.
    """
    by_spelling: dict[str, list[str]] = {}
    for choice in choices:
        by_spelling.setdefault(_spelling(choice), []).append(choice)
    key = _spelling(name)
    if key in by_spelling:
        return by_spelling[key][:n]
    close = set(difflib.get_close_matches(key, by_spelling, n=n, cutoff=0.6))
    close |= {s for s in by_spelling if key and (key in s or s in key)}
    ranked = sorted(close, key=lambda s: -difflib.SequenceMatcher(None, key, s).ratio())
    return [choice for s in ranked for choice in by_spelling[s]][:n]


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """The sentence " Did you mean 'x'?" naming :func:`suggest`'s picks; "" if none is close."""
    close = suggest(name, choices)
    return f" Did you mean {' or '.join(map(repr, close))}?" if close else ""


_TRUE, _FALSE = ("true", "yes", "1"), ("false", "no", "0")


def named_values(parameter: str) -> dict[str, Any]:
    """The values a hyper-parameter that takes a module (not a number) can be given by name.

    ``attention``: the residual-branch modules of :mod:`cnnpapers.models.attention`, named as the
    variants built from them (``se_resnet*``, ``cbam_resnet*``).
    """
    from .models.attention import CBAM, SqueezeExcitation  # imports, so registers, every family

    return {"attention": {"se": SqueezeExcitation, "cbam": CBAM}}.get(parameter, {})


def parse_hyper_parameters(name: str, texts: Mapping[str, str]) -> dict[str, Any]:
    """The variant ``name``'s hyper-parameters from text (``{"shortcuts": "false"}``), each typed
    as its factory annotates it, so a command line's NAME=VALUE means what the Python call would.

    Booleans: true/false, yes/no, 1/0 (any case); tuples: comma-separated, brackets optional;
    ``none`` where ``None`` is allowed; modules by name (:func:`named_values`). An unknown
    hyper-parameter or a value of the wrong type is a ``ValueError`` naming the valid ones.
    """
    variant = _variant(name)
    valid = variant.hyper_parameters()
    factory = variant.factory
    hints = typing.get_type_hints(factory.__init__ if inspect.isclass(factory) else factory)
    typed = {}
    for key, text in texts.items():
        if key not in valid:
            raise ValueError(f"{name} has no hyper-parameter {[key]}; valid ones: {valid}."
                             f"{did_you_mean(key, valid)}")
        hint = hints[key]
        try:
            typed[key] = _parse(text, hint, key)
        except ValueError:
            raise ValueError(f"{name}'s {key} takes {_describe(hint, key)}, got {text!r}") from None
    return typed


def _parse(text: str, hint: Any, parameter: str) -> Any:
    """``text`` as a value of type ``hint``; ``ValueError`` if it is none."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    word = text.strip().lower()
    if hint is bool:
        if word not in _TRUE + _FALSE:
            raise ValueError(text)
        return word in _TRUE
    if hint in (int, float, str):
        return hint(text)
    if origin in (typing.Union, types.UnionType):
        if type(None) in args and word == "none":
            return None
        for option in args:
            try:
                return _parse(text, option, parameter)
            except ValueError:
                continue
        raise ValueError(text)
    if origin is tuple:
        items = [item for item in text.strip().strip("()[]").split(",") if item.strip()]
        types_ = [args[0]] * len(items) if args[-1] is Ellipsis else list(args)
        if not items or len(items) != len(types_):
            raise ValueError(text)
        return tuple(_parse(item, t, parameter) for item, t in zip(items, types_))
    if origin is collections.abc.Callable and word in named_values(parameter):
        return named_values(parameter)[word]
    raise ValueError(text)


def _describe(hint: Any, parameter: str) -> str:
    """What ``hint`` accepts as text, in words."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    words = {bool: "true or false (also yes/no, 1/0)", int: "an integer", float: "a number",
             str: "text"}
    if hint in words:
        return words[hint]
    if origin in (typing.Union, types.UnionType):
        options = [_describe(a, parameter) for a in args if a is not type(None)]
        return " or ".join(options + (["none"] if type(None) in args else []))
    if origin is tuple:
        count = "" if args[-1] is Ellipsis else f"{len(args)} "
        item = _describe(args[0], parameter).removeprefix("an ").removeprefix("a ")
        return f"{count}{item}s separated by commas"
    if origin is collections.abc.Callable:
        return f"one of {sorted(named_values(parameter))}"
    return str(hint)
