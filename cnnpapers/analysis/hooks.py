"""One forward pass with temporary hooks: how the analyses read shapes and activations."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle


def forward_with_hooks(model: nn.Module, x: torch.Tensor, handles: Iterable[RemovableHandle],
                       *, eval_mode: bool = True) -> None:
    """Run ``model(x)`` once without autograd, then remove the hooks ``handles`` (also when the
    pass fails). ``eval_mode``: in eval mode, the model's own mode restored afterwards; else in
    the mode the model is in (batch statistics, say, for a model in training mode)."""
    handles = list(handles)
    was_training = model.training
    try:
        if eval_mode:
            model.eval()
        with torch.no_grad():
            model(x)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
