"""FractalNet (Larsson, Maire, Shakhnarovich 2017, "FractalNet: Ultra-Deep Neural Networks
without Residuals", ICLR).

A fractal block with C columns is defined by the expansion rule (the paper's Eqs. (1)-(2)):

    f_1(z) = conv(z),        f_{C+1}(z) = [(f_C ∘ f_C)(z)] ⊕ [conv(z)],

where ⊕ is a *join*, the element-wise mean of its inputs. Column c (c = 0 the shallowest) holds
2^c convolutions, so the deepest path through a block has 2^(C-1) and a block 2^C − 1 in all.
Where joins meet at the same point they merge into one join over all incoming columns (Fig. 1),
so the mean is taken over every column equally rather than as a mean of means. B blocks are
stacked with 2x2 max pooling after each; a network's depth is B·2^(C-1) conv layers. (The
paper's own implementation pools each column before a block's last join, for convenience; max
pooling does not commute with the mean, and we keep the definition's join-then-pool.)

For CIFAR/SVHN the paper uses B = 5 blocks with 64, 128, 256, 512, 512 filters and C = 3 columns,
"20 layers" (DenseNet's Table 2 counts the classifier too: depth 21), and a linear classifier on
the final 1x1 map. Each conv unit follows the authors' generator (github.com/gustavla/fractalnet,
generation/): conv3x3 with bias, dropout, batch norm, ReLU; that batch norm is Caffe's
``BatchNorm`` layer with no ``Scale`` after it, i.e. without a learned affine transform.

Drop-path (Sec. 3) regularises the block's sub-paths. For each mini-batch, with probability
``global_drop_ratio`` one column is chosen for the whole network (global: every join keeps only
that column's input), otherwise every join drops each input with probability ``local_drop_prob``,
keeping at least one (local). Both act only in training mode; in eval mode every join averages
all its inputs, so evaluation is deterministic. :meth:`FractalNet.forward_column` computes one
column alone, which is how the paper evaluates its "deepest column", and equals a forward pass
under global drop-path of that column.

Pooling rounds up and is followed by global average pooling before the classifier, as Caffe's
pooling does and as the paper's classifier sees a 1x1 map at 32x32 input; the net then also
reads 28x28 Fashion-MNIST.

The paper's 38.6M parameters cannot be matched: this architecture has 33.7M, the count of the
network the authors' own generator describes (and of independent re-implementations); see the
``fractalnet20`` card and tests/models/test_fractalnet.py.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import Category, Reported, register_model
from ._common import require, require_positive_int, require_probability

CIFAR_CHANNELS = (64, 128, 256, 512, 512)  # filters of the B = 5 CIFAR blocks
CIFAR_DROPOUT = (0.0, 0.1, 0.2, 0.3, 0.4)  # the paper fixes the dropout rate per block
LOCAL_DROP_PROB = 0.15  # "local drop-path uses 15% drop rate across the entire network"
GLOBAL_DROP_RATIO = 0.5  # the paper mixes local and global drop-path half and half


def join(paths: list[torch.Tensor], keep: list[bool] | None = None) -> torch.Tensor:
    """The join layer: element-wise mean of ``paths``, or of those with ``keep`` set.

    Dropped paths enter with weight 0 rather than being skipped, so their parameters receive a
    zero gradient, as in the authors' Caffe ``FractalJoin`` layer.
    """
    if keep is None or all(keep):
        return torch.stack(paths).mean(0)
    weight = 1.0 / sum(keep)
    return sum((weight if k else 0.0) * p for p, k in zip(paths, keep))


class _DropPlan:
    """Which inputs every join keeps in one forward pass: all (eval), a random subset at each
    join (local drop-path), or only those on one column of the whole network (global)."""

    def __init__(self, columns: int, local_drop_prob: float = 0.0, column: int | None = None):
        self.columns, self.local_drop_prob, self.column = columns, local_drop_prob, column

    def join(self, paths: list[torch.Tensor]) -> torch.Tensor:
        return join(paths, self._keep(len(paths)))

    def _keep(self, n: int) -> list[bool] | None:
        if self.column is not None:
            # a join's n inputs are the block's n deepest columns, shallowest first; a join that
            # does not see the chosen column feeds only columns that a later join drops
            first = self.columns - n
            return [first + j == self.column for j in range(n)] if self.column >= first else None
        if self.local_drop_prob > 0:
            keep = torch.rand(n) >= self.local_drop_prob
            if not keep.any():  # "we make sure at least one survives"
                keep[torch.randint(n, ())] = True
            return keep.tolist()
        return None


class _ConvUnit(nn.Sequential):
    """conv3x3 (with bias) - dropout - BatchNorm without affine - ReLU, the authors' layer."""

    def __init__(self, in_channels: int, out_channels: int, dropout: float):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, 1, 1),
            nn.Dropout(dropout),
            nn.BatchNorm2d(out_channels, affine=False),
            nn.ReLU(inplace=True),
        )


class _Fractal(nn.Module):
    """f_C of the expansion rule: ``conv`` is the new shallow column, ``first`` and ``second``
    the two copies of f_{C-1} composed into the deeper columns."""

    def __init__(self, columns: int, in_channels: int, out_channels: int, dropout: float):
        super().__init__()
        self.columns = columns
        self.conv = _ConvUnit(in_channels, out_channels, dropout)
        if columns > 1:
            self.first = _Fractal(columns - 1, in_channels, out_channels, dropout)
            self.second = _Fractal(columns - 1, out_channels, out_channels, dropout)

    def paths(self, z: torch.Tensor, plan: _DropPlan) -> list[torch.Tensor]:
        """The un-joined outputs of the C columns, shallowest first; the caller joins them."""
        shallow = self.conv(z)
        if self.columns == 1:
            return [shallow]
        inner = plan.join(self.first.paths(z, plan))
        return [shallow] + self.second.paths(inner, plan)

    def column(self, z: torch.Tensor, c: int) -> torch.Tensor:
        """Column c alone: 2^c convs, column c-1 of ``first`` then of ``second``."""
        if c == 0:
            return self.conv(z)
        return self.second.column(self.first.column(z, c - 1), c - 1)


class FractalNet(nn.Module):
    """FractalNet: ``len(channels)`` fractal blocks of ``columns`` columns, each then pooled.

    ``dropout`` gives each block's dropout rate (one per block). ``local_drop_prob`` and
    ``global_drop_ratio`` set drop-path; both 0 disable it.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3, columns: int = 3,
                 channels: tuple[int, ...] = CIFAR_CHANNELS,
                 dropout: tuple[float, ...] = (0.0,) * len(CIFAR_CHANNELS),
                 local_drop_prob: float = 0.0, global_drop_ratio: float = 0.0):
        super().__init__()
        require_positive_int("num_classes", num_classes)
        require_positive_int("in_channels", in_channels)
        require_positive_int("columns", columns)
        require(isinstance(channels, (tuple, list)) and len(channels) > 0
                and all(isinstance(c, int) and not isinstance(c, bool) and c > 0 for c in channels),
                f"channels must be a non-empty tuple of positive integers (one per block B), "
                f"got {channels!r}")
        require(isinstance(dropout, (tuple, list)) and len(dropout) == len(channels)
                and all(isinstance(p, (int, float)) and 0 <= p < 1 for p in dropout),
                f"dropout must give a rate in [0, 1) for each of the {len(channels)} blocks, "
                f"got {dropout!r}")
        require_probability("local_drop_prob", local_drop_prob)
        require(isinstance(global_drop_ratio, (int, float)) and 0 <= global_drop_ratio <= 1,
                f"global_drop_ratio must be in [0, 1], got {global_drop_ratio!r}")
        self.columns = columns
        self.local_drop_prob = local_drop_prob
        self.global_drop_ratio = global_drop_ratio
        widths = (in_channels, *channels)
        self.blocks = nn.ModuleList(
            _Fractal(columns, widths[b], widths[b + 1], dropout[b]) for b in range(len(channels))
        )
        self.pool = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.fc = nn.Linear(channels[-1], num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        # Caffe's "xavier" filler of the authors' generator: U(±sqrt(3 / fan_in)), zero biases
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_uniform_(m.weight, a=1)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        plan = self._drop_plan()
        for block in self.blocks:
            x = self.pool(plan.join(block.paths(x, plan)))
        return self._classify(x)

    def _drop_plan(self) -> _DropPlan:
        """Drop-path for this mini-batch: global with probability ``global_drop_ratio``."""
        if not self.training:
            return _DropPlan(self.columns)
        if self.global_drop_ratio > 0 and torch.rand(()) < self.global_drop_ratio:
            return _DropPlan(self.columns, column=int(torch.randint(self.columns, ())))
        return _DropPlan(self.columns, local_drop_prob=self.local_drop_prob)

    def forward_column(self, x: torch.Tensor, column: int) -> torch.Tensor:
        """The network restricted to one column (0 = shallowest, columns - 1 = deepest)."""
        require(isinstance(column, int) and 0 <= column < self.columns,
                f"column must be in 0..{self.columns - 1}, got {column!r}")
        for block in self.blocks:
            x = self.pool(block.column(x, column))
        return self._classify(x)

    def _classify(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


TABLE2 = "DenseNet paper Table 2, FractalNet [17] rows (depth 21, 38.6M)"
_PARAMS_DISAGREE = (
    "The printed 38.6M cannot be reached: B = 5 blocks of C = 3 columns with 64-128-256-512-512 "
    "filters have 33.7M parameters, which is also what the authors' generator and independent "
    "re-implementations build; the tests pin our count and this disagreement. Depth: the "
    "FractalNet paper says 20 layers (B·2^(C-1) convs), DenseNet counts 21."
)
_CIFAR = dict(paper="larsson2017", category=Category.MULTI_PATH, input_size=(3, 32, 32),
              num_classes=10, min_input_size=1, depth=20)

register_model(
    "fractalnet20", FractalNet, **_CIFAR,
    reported=Reported(TABLE2, params="38.6",
                      errors={"C10": 10.18, "C10+": 5.22, "C100": 35.34, "C100+": 23.30,
                              "SVHN": 2.01},
                      remark=_PARAMS_DISAGREE),
    description="FractalNet, B = 5 blocks, C = 3 columns, no dropout or drop-path.",
    columns=3, channels=CIFAR_CHANNELS, dropout=(0.0,) * 5, local_drop_prob=0.0,
    global_drop_ratio=0.0,
)
register_model(
    "fractalnet20_drop_path", FractalNet, **_CIFAR,
    reported=Reported(f"{TABLE2}, 'with Dropout/Drop-path' row", params="38.6",
                      errors={"C10": 7.33, "C10+": 4.60, "C100": 28.20, "C100+": 23.73,
                              "SVHN": 1.87},
                      remark=_PARAMS_DISAGREE),
    description="FractalNet 20 with dropout 0-0.4 per block and local + global drop-path.",
    columns=3, channels=CIFAR_CHANNELS, dropout=CIFAR_DROPOUT, local_drop_prob=LOCAL_DROP_PROB,
    global_drop_ratio=GLOBAL_DROP_RATIO,
)
