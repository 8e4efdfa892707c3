"""Suite-wide settings: the tests use tiny tensors, where one thread beats OpenMP overhead."""

import torch

torch.set_num_threads(1)
