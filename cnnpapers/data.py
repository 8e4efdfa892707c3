"""Datasets as tensors: Fashion-MNIST from local IDX files, CIFAR/SVHN through torchvision.

Fashion-MNIST is the embedded default: Debian's ``dataset-fashion-mnist`` package puts its four
IDX files under ``/usr/share/datasets/fashion-mnist`` and :func:`load_fashion_mnist` parses them
with numpy, checking magic numbers, shapes and sizes, so a truncated download is an error, never
a smaller dataset. CIFAR-10/100 and SVHN go through ``torchvision.datasets`` (downloaded only when
asked), ImageNet through an ``ImageFolder`` path. Small datasets come back as one uint8 tensor
``(N, C, H, W)`` plus int64 labels, optionally already on the GPU, so augmentation and batching
run as tensor operations on the training device.
"""

from __future__ import annotations

import gzip
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

FASHION_MNIST_ENV = "CNNPAPERS_FASHION_MNIST"
DATA_ROOT_ENV = "CNNPAPERS_DATA"
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
INSTALL_HINT = "sudo apt-get install dataset-fashion-mnist"

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
_IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 60_000),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 10_000),
}
_IMAGES_MAGIC, _LABELS_MAGIC = 2051, 2049


class DatasetError(RuntimeError):
    """A dataset is missing or broken; the message says how to fix it."""


@dataclass
class TensorDataset:
    """A whole split in memory: ``images`` uint8 (N, C, H, W), ``labels`` int64 (N,)."""

    name: str
    split: str
    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]
    mean: tuple[float, ...]  # per-channel statistics of the training split, in [0, 1] units
    std: tuple[float, ...]

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def to(self, device: str | torch.device) -> "TensorDataset":
        return TensorDataset(self.name, self.split, self.images.to(device), self.labels.to(device),
                             self.classes, self.mean, self.std)

    def subset(self, n: int, seed: int = 0) -> "TensorDataset":
        """A class-stratified, seeded subset of ``n`` examples (all of them if ``n >= len``)."""
        if n >= len(self):
            return self
        idx = stratified_indices(self.labels.cpu(), n, seed).to(self.labels.device)
        return TensorDataset(self.name, self.split, self.images[idx], self.labels[idx],
                             self.classes, self.mean, self.std)


def stratified_indices(labels: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """``n`` indices with classes as balanced as ``labels`` allows, in a seeded random order."""
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(labels), generator=gen)
    # rank of each example within its class, in the random order: take low ranks first
    ranks = torch.empty_like(order)
    sorted_labels, by_label = torch.sort(labels[order], stable=True)
    starts = torch.searchsorted(sorted_labels, sorted_labels, side="left")
    ranks[by_label] = torch.arange(len(labels)) - starts
    chosen = order[torch.argsort(ranks, stable=True)[:n]]
    return chosen[torch.randperm(n, generator=gen)]


# --------------------------------------------------------------------------- Fashion-MNIST


def fashion_mnist_dir(root: str | Path | None = None) -> Path:
    """Where the Fashion-MNIST IDX files are: ``root``, ``$CNNPAPERS_FASHION_MNIST``, or Debian's."""
    if root is not None:
        return Path(root)
    return Path(os.environ.get(FASHION_MNIST_ENV, DEBIAN_FASHION_MNIST))


def _read_gzip(path: Path) -> bytes:
    if not path.exists():
        raise DatasetError(
            f"Fashion-MNIST file {path} is missing. Install it with `{INSTALL_HINT}` "
            f"(or `make setup`), or point ${FASHION_MNIST_ENV} at a folder holding the four "
            f"*-ubyte.gz files."
        )
    try:
        with gzip.open(path, "rb") as fh:
            return fh.read()
    except (EOFError, OSError, zlib.error) as err:
        raise DatasetError(
            f"Fashion-MNIST file {path} is corrupt or truncated ({err}). Reinstall it with "
            f"`sudo apt-get install --reinstall dataset-fashion-mnist`."
        ) from err


def parse_idx(data: bytes, magic: int, ndim: int, path: Path) -> np.ndarray:
    """Parse an IDX byte string (big-endian header, uint8 payload) and check its size exactly."""
    header = 4 * (1 + ndim)
    if len(data) < header:
        raise DatasetError(f"{path}: {len(data)} bytes is shorter than an IDX header")
    got_magic = int.from_bytes(data[:4], "big")
    if got_magic != magic:
        raise DatasetError(f"{path}: magic number {got_magic}, expected {magic}; not this IDX file")
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    expected = header + int(np.prod(dims))
    if len(data) != expected:
        raise DatasetError(
            f"{path}: {len(data)} bytes but the header {dims} needs {expected}; the file is "
            f"truncated or corrupt. Reinstall it with `sudo apt-get install --reinstall "
            f"dataset-fashion-mnist`."
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def load_fashion_mnist(
    split: str = "train", root: str | Path | None = None, device: str | torch.device = "cpu"
) -> TensorDataset:
    """One split of Fashion-MNIST (Xiao et al. 2017) as uint8 tensors of shape (N, 1, 28, 28)."""
    if split not in _IDX_FILES:
        raise ValueError(f"unknown split {split!r}; choose 'train' or 'test'")
    folder = fashion_mnist_dir(root)
    image_file, label_file, count = _IDX_FILES[split]
    images = parse_idx(_read_gzip(folder / image_file), _IMAGES_MAGIC, 3, folder / image_file)
    labels = parse_idx(_read_gzip(folder / label_file), _LABELS_MAGIC, 1, folder / label_file)
    if images.shape != (count, 28, 28) or labels.shape != (count,):
        raise DatasetError(
            f"{folder}: {split} split has images {images.shape} and labels {labels.shape}; "
            f"Fashion-MNIST has ({count}, 28, 28) and ({count},)"
        )
    if labels.max() >= len(FASHION_MNIST_CLASSES):
        raise DatasetError(f"{folder / label_file}: label {labels.max()} outside 0..9")
    return TensorDataset(
        "fashion-mnist", split,
        torch.from_numpy(images.copy()).unsqueeze(1).to(device),
        torch.from_numpy(labels.astype(np.int64)).to(device),
        FASHION_MNIST_CLASSES, mean=(0.2860,), std=(0.3530,),
    )


# --------------------------------------------------------------------------- torchvision sets

_TV_STATS = {  # per-channel mean/std of each training split (widely published values)
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    "svhn": ((0.4377, 0.4438, 0.4728), (0.1980, 0.2010, 0.1970)),
}


def data_root(root: str | Path | None = None) -> Path:
    return Path(root or os.environ.get(DATA_ROOT_ENV, Path.home() / ".cache" / "cnnpapers"))


def _torchvision_split(name: str, split: str, root: Path, download: bool):
    import torchvision.datasets as tvd

    try:
        if name == "cifar10":
            return tvd.CIFAR10(root, train=split == "train", download=download)
        if name == "cifar100":
            return tvd.CIFAR100(root, train=split == "train", download=download)
        # SVHN's paper protocol trains on train+extra; "train" here is the 73k train split
        return tvd.SVHN(root / "svhn", split=split, download=download)
    except RuntimeError as err:  # torchvision: "Dataset not found or corrupted"
        raise DatasetError(
            f"{name} not found or corrupt under {root} ({err}). On a machine with internet, pass "
            f"download=True (CLI: --download); or set ${DATA_ROOT_ENV} / --data-root to a folder "
            f"that holds it."
        ) from err


def load_torchvision(
    name: str, split: str = "train", root: str | Path | None = None,
    device: str | torch.device = "cpu", download: bool = False,
) -> TensorDataset:
    """CIFAR-10, CIFAR-100 or SVHN as uint8 tensors (N, 3, 32, 32)."""
    if split not in ("train", "test"):
        raise ValueError(f"unknown split {split!r}; choose 'train' or 'test'")
    ds = _torchvision_split(name, split, data_root(root), download)
    data = np.asarray(ds.data)
    images = torch.from_numpy(data if name == "svhn" else data.transpose(0, 3, 1, 2).copy())
    labels = torch.as_tensor(np.asarray(ds.labels if name == "svhn" else ds.targets), dtype=torch.int64)
    classes = tuple(getattr(ds, "classes", [str(i) for i in range(10)]))
    mean, std = _TV_STATS[name]
    return TensorDataset(name, split, images.contiguous().to(device), labels.to(device), classes, mean, std)


def load_imagenet(root: str | Path, split: str = "val", image_size: int = 224):
    """ImageNet as a torchvision ``ImageFolder`` (``root/<split>/<wnid>/*.JPEG``)."""
    import torchvision.datasets as tvd
    import torchvision.transforms as T

    folder = Path(root) / split
    if not folder.is_dir():
        raise DatasetError(
            f"ImageNet split folder {folder} does not exist. Pass --data-root pointing at a "
            f"folder with train/ and val/ in ImageFolder layout (one sub-folder per class)."
        )
    resize = int(image_size * 256 / 224)
    transform = T.Compose([
        T.Resize(resize), T.CenterCrop(image_size), T.ToTensor(),
        T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    ])
    return tvd.ImageFolder(str(folder), transform=transform)


DATASETS = ("fashion-mnist", "cifar10", "cifar100", "svhn")


def load_dataset(
    name: str, split: str = "train", root: str | Path | None = None,
    device: str | torch.device = "cpu", download: bool = False,
) -> TensorDataset:
    """Load one split of a small dataset by name (see :data:`DATASETS`)."""
    if name == "fashion-mnist":
        return load_fashion_mnist(split, root, device)
    if name in ("cifar10", "cifar100", "svhn"):
        return load_torchvision(name, split, root, device, download)
    if name == "imagenet":
        raise ValueError("ImageNet does not fit in memory as a tensor; use load_imagenet(root)")
    raise ValueError(f"unknown dataset {name!r}; choose one of {list(DATASETS)} or 'imagenet'")
