"""cnnpapers: the library behind the CNN-papers companion book.

Models from the notes in a registry with their paper cards, datasets as tensors, a training
engine with compute budgets and a results cache, and the analysis instruments the chapters use.
"""

from .budgets import BUDGETS, Budget, get_budget
from .registry import Category, ModelCard, Reported, count_parameters, create_model, list_models, model_info

__version__ = "0.1.0"

__all__ = [
    "BUDGETS", "Budget", "Category", "ModelCard", "Reported", "count_parameters", "create_model",
    "get_budget", "list_models", "model_info",
]
