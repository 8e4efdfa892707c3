"""Data augmentation and input preparation on batched tensors, on the training device.

The CIFAR recipe every paper in the notes uses ("C10+", He et al. 2016 Sec. 4.2, following Lee
et al. 2015): zero-pad 4 pixels on each side, take a random 32x32 crop, flip horizontally with
probability 1/2. We apply it to a whole batch of uint8 images with one gather, so it runs on the
GPU when training there and never touches PIL. Its Fashion-MNIST equivalent is the same recipe at
28x28 (ours): a 4-pixel shift and a left-right mirror keep every garment class a garment of the
same class.

All randomness comes from an explicit ``torch.Generator`` and is drawn for a whole epoch at once
(:func:`draw`), per example position, so a run is reproducible from ``(seed, epoch)`` alone and a
multi-process run sees the same augmented images as a single process.

Images smaller than a model's ``min_input_size`` are zero-padded symmetrically up to it, as LeCun
et al. (1998, Sec. III.A) padded 28x28 MNIST digits to 32x32; a larger gap than
:data:`MAX_INPUT_PAD` pixels a side is an error, never a silent upscale.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

MAX_INPUT_PAD = 4  # the widest zero border our models are trained to see (the C10+ padding)


@dataclass(frozen=True)
class Augmentation:
    """Random shift by up to ``padding`` pixels (zero fill) and optional horizontal flip."""

    name: str
    padding: int
    flip: bool

    @property
    def active(self) -> bool:
        return self.padding > 0 or self.flip


_AUGMENTATIONS = {
    "none": Augmentation("none", padding=0, flip=False),
    "c10+": Augmentation("c10+", padding=4, flip=True),
    "fashion-mnist": Augmentation("fashion-mnist", padding=4, flip=True),
}


def get_augmentation(name: str | Augmentation) -> Augmentation:
    if isinstance(name, Augmentation):
        return name
    try:
        return _AUGMENTATIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown augmentation {name!r}; choose one of {list(_AUGMENTATIONS)}") from None


@dataclass(frozen=True)
class Draw:
    """Random choices for ``n`` example positions: crop offsets in ``[0, 2 * padding]``, flips."""

    dy: torch.Tensor
    dx: torch.Tensor
    flip: torch.Tensor  # bool

    def __getitem__(self, index: torch.Tensor | slice) -> "Draw":
        return Draw(self.dy[index], self.dx[index], self.flip[index])

    def to(self, device: torch.device | str) -> "Draw":
        return Draw(self.dy.to(device), self.dx.to(device), self.flip.to(device))


def draw(aug: Augmentation, n: int, generator: torch.Generator) -> Draw:
    """Draw crop offsets and flips for ``n`` examples from ``generator`` (on its device)."""
    dev = generator.device
    span = 2 * aug.padding + 1
    dy = torch.randint(0, span, (n,), generator=generator, device=dev)
    dx = torch.randint(0, span, (n,), generator=generator, device=dev)
    flip = torch.rand(n, generator=generator, device=dev) < 0.5
    if not aug.flip:
        flip = torch.zeros_like(flip)
    return Draw(dy, dx, flip)


def crop_flip(images: torch.Tensor, padding: int, choice: Draw) -> torch.Tensor:
    """Zero-pad ``images`` (N, C, H, W) by ``padding``, crop H x W at ``choice``'s offsets, flip.

    One gather for the whole batch: a flipped crop reads its columns in reverse order.
    """
    n, c, h, w = images.shape
    dev = images.device
    padded = F.pad(images, (padding,) * 4) if padding else images
    rows = choice.dy.to(dev)[:, None] + torch.arange(h, device=dev)  # (N, H)
    cols = choice.dx.to(dev)[:, None] + torch.arange(w, device=dev)  # (N, W)
    cols = torch.where(choice.flip.to(dev)[:, None], cols.flip(1), cols)
    batch = torch.arange(n, device=dev)[:, None, None, None]
    chan = torch.arange(c, device=dev)[None, :, None, None]
    return padded[batch, chan, rows[:, None, :, None], cols[:, None, None, :]]


def random_crop_flip(images: torch.Tensor, aug: Augmentation,
                     generator: torch.Generator) -> torch.Tensor:
    """Augment one batch with fresh draws from ``generator``."""
    if not aug.active:
        return images
    return crop_flip(images, aug.padding, draw(aug, len(images), generator))


def normalize(images: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...],
              dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 pixels -> ``(x / 255 - mean) / std`` per channel, in ``dtype``."""
    shape = (1, -1, 1, 1)
    scale = torch.tensor([1 / (255 * s) for s in std], device=images.device, dtype=dtype)
    shift = torch.tensor([m / s for m, s in zip(mean, std)], device=images.device, dtype=dtype)
    return images.to(dtype) * scale.view(shape) - shift.view(shape)


def input_padding(image_size: int, min_input_size: int, model: str = "the model") -> int:
    """Zero pixels to add on each side so ``image_size`` reaches ``min_input_size``.

    Odd gaps put the extra pixel at the bottom/right. More than :data:`MAX_INPUT_PAD` pixels a side
    is a ``ValueError``: the model wants a different kind of input, and we never upscale silently.
    """
    gap = max(0, min_input_size - image_size)
    if (gap + 1) // 2 > MAX_INPUT_PAD:
        raise ValueError(
            f"{model} needs inputs of at least {min_input_size}x{min_input_size}, but the "
            f"dataset's images are {image_size}x{image_size}; zero-padding {gap} pixels would "
            f"mostly show the model padding, and cnnpapers never upscales silently. Use a "
            f"CIFAR-style variant "
            f"(e.g. 'resnet20_cifar', 'densenet_bc_100_k12'; see list_models('*cifar*')) or resize "
            f"the data yourself."
        )
    return gap


def pad_to(images: torch.Tensor, size: int, model: str = "the model") -> torch.Tensor:
    """Zero-pad (N, C, H, W) images symmetrically to at least ``size`` x ``size``."""
    gap_h = input_padding(images.shape[-2], size, model)
    gap_w = input_padding(images.shape[-1], size, model)
    if not gap_h and not gap_w:
        return images
    return F.pad(images, (gap_w // 2, gap_w - gap_w // 2, gap_h // 2, gap_h - gap_h // 2))


def ten_crop(images: torch.Tensor, size: int) -> torch.Tensor:
    """The ten views of (N, C, H, W) images used for 10-crop testing, shape (10, N, C, size, size).

    Order as ``torchvision.transforms.functional.ten_crop``: top-left, top-right, bottom-left,
    bottom-right, centre, then the same five of the horizontally flipped images.
    """
    h, w = images.shape[-2:]
    if size > min(h, w):
        raise ValueError(f"crop size {size} is larger than the images ({h}x{w})")
    top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
    corners = [(0, 0), (0, w - size), (h - size, 0), (h - size, w - size), (top, left)]

    def five(x: torch.Tensor) -> list[torch.Tensor]:
        return [x[..., i:i + size, j:j + size] for i, j in corners]

    return torch.stack(five(images) + five(images.flip(-1)))
