"""DenseNet (Huang, Liu, van der Maaten, Weinberger 2017, "Densely Connected Convolutional
Networks"; notes 000, 002, 003, 004).

Inside a dense block layer ℓ reads the concatenation of everything before it (Eq. 2)

    x_ℓ = H_ℓ([x_0, x_1, ..., x_{ℓ-1}]),

so with growth rate k its input has k_0 + (ℓ-1)·k channels. H_ℓ is BN-ReLU-Conv(3x3), or with
bottlenecks (DenseNet-B) BN-ReLU-Conv(1x1, 4k)-BN-ReLU-Conv(3x3, k). Transition layers between
blocks are BN-ReLU-Conv(1x1)-AvgPool(2x2) (the official code puts the ReLU there although the
paper's text lists only BN, conv and pooling) and output ⌊θ·m⌋ of the block's m channels
(DenseNet-C when θ < 1). After the last block: BN-ReLU, global average pooling, linear.

Two families share these classes and torchvision's module names (``features.denseblockN.
denselayerM.norm1/relu1/conv1/norm2/relu2/conv2``, ``features.transitionN.norm/relu/conv/pool``,
``classifier``), so one weight-reuse analysis walks both:

* CIFAR/SVHN (Sec. 3, "Implementation Details"): a 3x3 stem conv with 16 channels (2k for
  DenseNet-BC), three blocks of equal length, built by :func:`cifar_densenet` from the depth L;
* ImageNet DenseNet-BC (Table 1): a 7x7/2 stem with 2k channels and 3x3/2 max pooling, four
  blocks; ``densenet121/161/169/201`` load torchvision's ``state_dict`` strictly.

Every conv layer except the first is followed by dropout when ``drop_rate > 0`` (the paper uses
0.2 on C10, C100 and SVHN, which are trained without augmentation); that includes the bottleneck's
1x1 conv and the transition's conv, as in the official Torch code (torchvision drops only after
the 3x3 conv; with ``drop_rate=0``, its default and the ImageNet setting, the two agree).

``memory_efficient=True`` implements note 004's answer (Pleiss et al. 2017): a naive block
stores every concatenation anew, so an L-layer block keeps O(L²) feature maps for backward.
Here each block writes its input and every layer's new maps into slices of one pre-allocated
buffer, so layer ℓ's concatenated input is a zero-copy view of the buffer's first channels, and
BN-ReLU-Conv of that input is recomputed in backward instead of stored: O(L) memory. Parameters,
outputs, gradients and BN running statistics are those of the naive form.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import Category, Reported, register_model
from ._common import require, require_choice, require_positive_int, require_probability

STEMS = ("imagenet", "cifar")
CIFAR_STEM_CHANNELS = 16  # Sec. 3: "a convolution with 16 (or twice the growth rate for BC)"


class _BufferSeal:
    """Guards a block buffer that layers read back in backward without ``save_for_backward``.

    Later layers write *other* channels of the same buffer in place, which autograd's version
    counter (shared by all views of a tensor) would report as a modification of the saved input.
    The seal records the buffer's version once the block has filled it; backward checks that
    nothing wrote to it afterwards (e.g. an in-place op on the block's output).
    """

    def __init__(self, buffer: torch.Tensor):
        self.buffer = buffer
        self.version: int | None = None

    def close(self) -> None:
        self.version = self.buffer._version

    def check(self) -> None:
        if self.buffer._version != self.version:
            raise RuntimeError(
                "a memory-efficient dense block's output was modified in place after the block "
                "ran; its layers recompute their inputs from it in backward. Clone the output "
                "before modifying it, or build the model with memory_efficient=False."
            )


class _RecomputedConcatConv(torch.autograd.Function):
    """``conv1(relu1(norm1(concat)))`` that keeps neither BN's nor ReLU's output for backward.

    ``concat`` is a view of the block buffer holding [x_0, ..., x_{ℓ-1}]; backward recomputes
    BN-ReLU from it (batch statistics in training, a copy of the running statistics in eval, the
    forward's autocast state) and never updates the running statistics a second time. The forward
    runs the layer's own BN module, so momentum and ``num_batches_tracked`` are updated exactly
    once, as in the naive form. conv1's gradients come from its backward formulas, not from a
    second forward through it.
    """

    @staticmethod
    def forward(ctx, concat, layer, seal, bn_weight, bn_bias, conv_weight):
        norm = layer.norm1
        ctx.layer, ctx.seal = layer, seal
        ctx.concat = concat.detach()  # see _BufferSeal for why this is not save_for_backward
        batch_stats = norm.training or norm.running_mean is None
        ctx.stats = None if batch_stats else (norm.running_mean.clone(), norm.running_var.clone())
        ctx.autocast = _autocast_state(concat.device)
        ctx.save_for_backward(bn_weight, bn_bias, conv_weight)
        return layer.conv1(layer.relu1(norm(concat)))

    @staticmethod
    def backward(ctx, grad_out):
        ctx.seal.check()
        bn_weight, bn_bias, conv_weight = ctx.saved_tensors
        norm, conv = ctx.layer.norm1, ctx.layer.conv1
        with torch.enable_grad(), torch.autocast(**ctx.autocast):
            x, gamma, beta = (t.detach().requires_grad_() for t in (ctx.concat, bn_weight, bn_bias))
            mean, var = ctx.stats or (None, None)
            act = F.relu(F.batch_norm(x, mean, var, gamma, beta, ctx.stats is None, 0.0, norm.eps))
        # conv1 ran in grad_out's dtype (autocast may have cast its input and weight down)
        a, w = act.detach().to(grad_out.dtype), conv_weight.to(grad_out.dtype)
        geometry = dict(stride=conv.stride, padding=conv.padding)
        grad_act = torch.nn.grad.conv2d_input(a.shape, w, grad_out, **geometry)
        grad_conv = torch.nn.grad.conv2d_weight(a, w.shape, grad_out, **geometry)
        grad_x, grad_gamma, grad_beta = torch.autograd.grad(act, (x, gamma, beta),
                                                            grad_act.to(act.dtype))
        return grad_x, None, None, grad_gamma, grad_beta, grad_conv.to(conv_weight.dtype)


def _autocast_state(device: torch.device) -> dict:
    """``torch.autocast`` arguments that reproduce the current mixed-precision state."""
    if not torch.amp.is_autocast_available(device.type):
        return {"device_type": "cpu", "enabled": False}
    return {"device_type": device.type, "dtype": torch.get_autocast_dtype(device.type),
            "enabled": torch.is_autocast_enabled(device.type)}


class _DenseLayer(nn.Module):
    """H_ℓ of Eq. (2): BN-ReLU-Conv(3x3), or BN-ReLU-Conv(1x1, bn_size·k)-BN-ReLU-Conv(3x3) (B).

    ``conv1`` is always the convolution that reads the concatenation [x_0, ..., x_{ℓ-1}] of
    ``num_input_features`` = k_0 + (ℓ-1)·k channels; it is 3x3 without a bottleneck.
    """

    def __init__(self, num_input_features: int, growth_rate: int, bottleneck: bool, bn_size: int,
                 drop_rate: float):
        super().__init__()
        self.num_input_features, self.growth_rate = num_input_features, growth_rate
        self.bottleneck, self.drop_rate = bottleneck, drop_rate
        self.norm1 = nn.BatchNorm2d(num_input_features)
        self.relu1 = nn.ReLU(inplace=True)
        if bottleneck:
            width = bn_size * growth_rate  # the paper's 4k
            self.conv1 = nn.Conv2d(num_input_features, width, 1, bias=False)
            self.norm2 = nn.BatchNorm2d(width)
            self.relu2 = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(width, growth_rate, 3, padding=1, bias=False)
        else:
            self.conv1 = nn.Conv2d(num_input_features, growth_rate, 3, padding=1, bias=False)

    def forward(self, concat: torch.Tensor, seal: _BufferSeal | None = None) -> torch.Tensor:
        """k new maps from ``concat``; a ``seal`` marks ``concat`` as a block-buffer view."""
        if seal is not None and torch.is_grad_enabled():
            params = (self.norm1.weight, self.norm1.bias, self.conv1.weight)
            out = _RecomputedConcatConv.apply(concat, self, seal, *params)
        else:
            out = self.conv1(self.relu1(self.norm1(concat)))
        out = self._dropout(out)
        if self.bottleneck:
            out = self._dropout(self.conv2(self.relu2(self.norm2(out))))
        return out

    def _dropout(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(x, self.drop_rate, self.training) if self.drop_rate > 0 else x


class _DenseBlock(nn.ModuleDict):
    """A dense block (Fig. 1): ``num_layers`` layers, each adding ``growth_rate`` maps.

    Its output is [x_0, x_1, ..., x_L] with ``num_input_features + num_layers·growth_rate``
    channels; :meth:`feature_slices` says which channels came from which source.
    """

    def __init__(self, num_layers: int, num_input_features: int, growth_rate: int,
                 bottleneck: bool, bn_size: int, drop_rate: float, memory_efficient: bool):
        super().__init__()
        self.num_layers, self.num_input_features = num_layers, num_input_features
        self.growth_rate, self.memory_efficient = growth_rate, memory_efficient
        self.num_output_features = num_input_features + num_layers * growth_rate
        for i in range(num_layers):
            layer = _DenseLayer(num_input_features + i * growth_rate, growth_rate, bottleneck,
                                bn_size, drop_rate)
            self.add_module(f"denselayer{i + 1}", layer)

    def feature_slices(self) -> list[slice]:
        """Channels of x_0 (the block input), x_1, ..., x_L in the block's concatenation.

        Layer ℓ (1-based) reads the first ℓ of them, in this order, through ``conv1``.
        """
        k0, k = self.num_input_features, self.growth_rate
        starts = [k0 + i * k for i in range(self.num_layers)]
        return [slice(0, k0)] + [slice(start, start + k) for start in starts]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.memory_efficient:
            return self._forward_shared_buffer(x)
        features = [x]
        for layer in self.values():
            features.append(layer(torch.cat(features, 1)))  # a fresh copy per layer: O(L²)
        return torch.cat(features, 1)

    def _forward_shared_buffer(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        buffer = x.new_empty(n, self.num_output_features, h, w)
        seal = _BufferSeal(buffer)
        end = self.num_input_features
        buffer[:, :end] = x
        for layer in self.values():
            buffer[:, end:end + self.growth_rate] = layer(buffer[:, :end], seal)
            end += self.growth_rate
        seal.close()
        return buffer


class _Transition(nn.Module):
    """Transition layer (Sec. 3): BN-ReLU-Conv(1x1, ⌊θm⌋)-AvgPool(2x2, stride 2)."""

    def __init__(self, num_input_features: int, num_output_features: int, drop_rate: float):
        super().__init__()
        self.drop_rate = drop_rate
        self.norm = nn.BatchNorm2d(num_input_features)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(num_input_features, num_output_features, 1, bias=False)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(self.relu(self.norm(x)))
        if self.drop_rate > 0:
            x = F.dropout(x, self.drop_rate, self.training)
        return self.pool(x)


class DenseNet(nn.Module):
    """DenseNet: dense blocks joined by compressing transitions (Huang et al. 2017, Fig. 2).

    ``block_config`` gives the layers per block, ``growth_rate`` is k, ``bottleneck`` chooses
    DenseNet-B layers whose 1x1 conv has ``bn_size``·k outputs, ``compression`` is θ. ``stem``
    is ``"imagenet"`` (7x7/2 conv, BN-ReLU, 3x3/2 max pool; Table 1) or ``"cifar"`` (one 3x3
    conv). Defaults build DenseNet-121.
    """

    def __init__(self, block_config: tuple[int, ...] = (6, 12, 24, 16), growth_rate: int = 32,
                 num_init_features: int = 64, bottleneck: bool = True, bn_size: int = 4,
                 compression: float = 0.5, drop_rate: float = 0.0, stem: str = "imagenet",
                 num_classes: int = 1000, in_channels: int = 3, memory_efficient: bool = False):
        super().__init__()
        _check_config(block_config, growth_rate, num_init_features, bn_size, compression,
                      drop_rate, stem, num_classes, in_channels)
        self.features = nn.Sequential(OrderedDict(_stem(stem, in_channels, num_init_features)))
        channels = num_init_features
        for i, num_layers in enumerate(block_config, start=1):
            block = _DenseBlock(num_layers, channels, growth_rate, bottleneck, bn_size, drop_rate,
                                memory_efficient)
            self.features.add_module(f"denseblock{i}", block)
            channels = block.num_output_features
            if i < len(block_config):
                out = math.floor(compression * channels)  # ⌊θm⌋
                require(out >= 1, f"compression {compression} leaves no channels after block {i}")
                self.features.add_module(f"transition{i}", _Transition(channels, out, drop_rate))
                channels = out
        # torchvision names the BN after the last block "norm5" whatever the number of blocks
        self.features.add_module("norm5", nn.BatchNorm2d(channels))
        self.classifier = nn.Linear(channels, num_classes)
        self._init_weights()

    def dense_blocks(self) -> list[_DenseBlock]:
        """The dense blocks in order (for the weight-reuse analysis of Fig. 5)."""
        return [m for m in self.features if isinstance(m, _DenseBlock)]

    def _init_weights(self) -> None:
        # He et al. 2015 for convs, as in the official Torch code (fan-out); BN to identity
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.features(x))
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def _check_config(block_config, growth_rate, num_init_features, bn_size, compression, drop_rate,
                  stem, num_classes, in_channels) -> None:
    require(isinstance(block_config, (tuple, list)) and len(block_config) > 0,
            f"block_config must be a non-empty tuple of layer counts, got {block_config!r}")
    for n in block_config:
        require_positive_int("each entry of block_config", n)
    for name, value in (("growth_rate", growth_rate), ("num_init_features", num_init_features),
                        ("bn_size", bn_size), ("num_classes", num_classes),
                        ("in_channels", in_channels)):
        require_positive_int(name, value)
    require(_is_real(compression) and 0 < compression <= 1,
            f"compression θ must lie in (0, 1] (Sec. 3), got {compression!r}")
    require_probability("drop_rate", drop_rate)
    require_choice("stem", stem, STEMS)


def _is_real(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _stem(stem: str, in_channels: int, channels: int) -> list[tuple[str, nn.Module]]:
    if stem == "cifar":
        return [("conv0", nn.Conv2d(in_channels, channels, 3, padding=1, bias=False))]
    return [
        ("conv0", nn.Conv2d(in_channels, channels, 7, stride=2, padding=3, bias=False)),
        ("norm0", nn.BatchNorm2d(channels)),
        ("relu0", nn.ReLU(inplace=True)),
        ("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
    ]


def cifar_layers_per_block(depth: int, bottleneck: bool) -> int:
    """Layers per block of a depth-L CIFAR DenseNet: (L-4)/3, or (L-4)/6 with bottlenecks.

    L counts the stem conv, the two transition convs, the classifier and every conv inside the
    three blocks (two per layer with bottlenecks).
    """
    convs_per_layer = 2 if bottleneck else 1
    step = 3 * convs_per_layer
    if not (isinstance(depth, int) and depth > 4 and (depth - 4) % step == 0):
        kind = "DenseNet-B/BC" if bottleneck else "DenseNet/DenseNet-C"
        examples = ", ".join(str(4 + step * n) for n in range(1, 6))
        raise ValueError(
            f"network_depth L of a CIFAR {kind} must be 4 + {step}n (n >= 1 layers per block): "
            f"{examples}, ...; got {depth!r}"
        )
    return (depth - 4) // step


def cifar_densenet(network_depth: int = 40, growth_rate: int = 12, bottleneck: bool = False,
                   compression: float = 1.0, drop_rate: float = 0.0,
                   num_init_features: int | None = None, num_classes: int = 10,
                   in_channels: int = 3, memory_efficient: bool = False) -> DenseNet:
    """DenseNet for CIFAR/SVHN (Sec. 3): three equal dense blocks at 32², 16², 8² maps.

    ``network_depth`` is the paper's L (named so because ``depth`` is taken by the card).
    ``num_init_features`` defaults to the paper's 16 channels, or 2k for DenseNet-BC
    (bottleneck and θ < 1). The official Torch code uses 2k for every variant, a different
    network for plain DenseNets; pass ``num_init_features=2 * growth_rate`` to build it.
    """
    require_positive_int("growth_rate", growth_rate)
    n = cifar_layers_per_block(network_depth, bottleneck)
    if num_init_features is None:
        is_bc = bottleneck and compression < 1
        num_init_features = 2 * growth_rate if is_bc else CIFAR_STEM_CHANNELS
    return DenseNet(block_config=(n, n, n), growth_rate=growth_rate,
                    num_init_features=num_init_features, bottleneck=bottleneck,
                    compression=compression, drop_rate=drop_rate, stem="cifar",
                    num_classes=num_classes, in_channels=in_channels,
                    memory_efficient=memory_efficient)


# --- CIFAR / SVHN: Table 2 --------------------------------------------------------------------

TABLE2 = "DenseNet paper Table 2"
_TABLE2_COLUMNS = ("C10", "C10+", "C100", "C100+", "SVHN")
_CIFAR_MIN_INPUT = 4  # two 2x2 poolings must leave at least one pixel
_NO_AUGMENTATION = ("C10, C100 and SVHN were trained without augmentation and with dropout 0.2 "
                    "(drop_rate=0.2); C10+ and C100+ with augmentation and no dropout.")


def _table2_errors(*row: float | None) -> dict[str, float]:
    return {col: err for col, err in zip(_TABLE2_COLUMNS, row) if err is not None}


def _register_cifar(name: str, depth: int, k: int, bottleneck: bool, compression: float,
                    reported: Reported | None, description: str) -> None:
    register_model(
        name, cifar_densenet, paper="huang2017", category=Category.MULTI_PATH,
        input_size=(3, 32, 32), num_classes=10, min_input_size=_CIFAR_MIN_INPUT, depth=depth,
        reported=reported, description=description,
        network_depth=depth, growth_rate=k, bottleneck=bottleneck, compression=compression,
        drop_rate=0.0,
    )


_PLAIN_40_REMARK = (
    "1.0M is the count with the paper's 16-channel stem and a 10-class head (1,019,722). "
    "A 100-class head gives 1,060,132, and the official Torch code, whose stem has 2k = 24 "
    "channels for every variant, gives 1,059,298 for 10 classes; both would print as 1.1M."
)

_register_cifar(
    "densenet_40_k12", 40, 12, False, 1.0,
    Reported(f"{TABLE2}, row DenseNet (k = 12), depth 40", params="1.0",
             errors=_table2_errors(7.00, 5.24, 27.55, 24.42, 1.79), remark=_PLAIN_40_REMARK),
    f"DenseNet (L=40, k=12), the network of Fig. 5. {_NO_AUGMENTATION}",
)
_register_cifar(
    "densenet_100_k12", 100, 12, False, 1.0,
    Reported(f"{TABLE2}, row DenseNet (k = 12), depth 100", params="7.0",
             errors=_table2_errors(5.77, 4.10, 23.79, 20.20, 1.67)),
    f"DenseNet (L=100, k=12). {_NO_AUGMENTATION}",
)
_register_cifar(
    "densenet_100_k24", 100, 24, False, 1.0,
    Reported(f"{TABLE2}, row DenseNet (k = 24), depth 100", params="27.2",
             errors=_table2_errors(5.83, 3.74, 23.42, 19.25, 1.59)),
    f"DenseNet (L=100, k=24). {_NO_AUGMENTATION}",
)
_register_cifar(
    "densenet_bc_100_k12", 100, 12, True, 0.5,
    Reported(f"{TABLE2}, row DenseNet-BC (k = 12), depth 100", params="0.8",
             errors=_table2_errors(5.92, 4.51, 24.15, 22.27, 1.76)),
    f"DenseNet-BC (L=100, k=12), the 0.8M network of Fig. 4 (right). {_NO_AUGMENTATION}",
)
_register_cifar(
    "densenet_bc_250_k24", 250, 24, True, 0.5,
    Reported(f"{TABLE2}, row DenseNet-BC (k = 24), depth 250", params="15.3",
             errors=_table2_errors(5.19, 3.62, 19.64, 17.60, 1.74)),
    f"DenseNet-BC (L=250, k=24). {_NO_AUGMENTATION}",
)
_register_cifar(
    "densenet_bc_190_k40", 190, 40, True, 0.5,
    Reported(f"{TABLE2}, row DenseNet-BC (k = 40), depth 190", params="25.6",
             errors=_table2_errors(None, 3.46, None, 17.18, None),
             remark="Trained only with augmentation (C10+, C100+); the other columns are '-'."),
    "DenseNet-BC (L=190, k=40), the paper's best CIFAR model.",
)

# Fig. 4 (left) compares DenseNet, -B, -C and -BC (k = 12) by parameters on C10+. The paper
# plots but does not print these points, nor say which depths it used; these depths are ours.
_FIG4_VARIANTS = {"": (False, 1.0), "b_": (True, 1.0), "c_": (False, 0.5), "bc_": (True, 0.5)}
for _depth in (40, 70, 100):
    for _prefix, (_bottleneck, _theta) in _FIG4_VARIANTS.items():
        _name = f"densenet_{_prefix}{_depth}_k12"
        if _name in ("densenet_40_k12", "densenet_100_k12", "densenet_bc_100_k12"):
            continue  # Table 2 rows, registered above with their numbers
        _kind = "DenseNet" + (f"-{_prefix[:-1].upper()}" if _prefix else "")
        _register_cifar(
            _name, _depth, 12, _bottleneck, _theta, None,
            f"{_kind} (L={_depth}, k=12) for the parameter-efficiency comparison of Fig. 4 "
            f"(left); no number for it is printed in the paper.",
        )


# --- ImageNet DenseNet-BC: Tables 1 and 3 -----------------------------------------------------

TABLE3 = "DenseNet paper Table 3 (ImageNet validation, single-crop / 10-crop)"
_IMAGENET_MIN_INPUT = 29  # 7x7/2 conv, 3x3/2 max pool and three 2x2 pools must leave one pixel


def _table3_errors(top1: tuple[float, float], top5: tuple[float, float]) -> dict[str, float]:
    return {"ImageNet top-1": top1[0], "ImageNet top-1 (10-crop)": top1[1],
            "ImageNet top-5": top5[0], "ImageNet top-5 (10-crop)": top5[1]}


def _register_imagenet(name: str, depth: int, blocks: tuple[int, int, int, int], k: int,
                       reported: Reported | None, description: str,
                       torchvision: str | None = None) -> None:
    register_model(
        name, DenseNet, paper="huang2017", category=Category.MULTI_PATH,
        input_size=(3, 224, 224), num_classes=1000, min_input_size=_IMAGENET_MIN_INPUT,
        depth=depth, reported=reported, torchvision=torchvision, description=description,
        block_config=blocks, growth_rate=k, num_init_features=2 * k, bottleneck=True, bn_size=4,
        compression=0.5, drop_rate=0.0, stem="imagenet",
    )


_register_imagenet(
    "densenet121", 121, (6, 12, 24, 16), 32,
    Reported(f"{TABLE3}, row DenseNet-121", errors=_table3_errors((25.02, 23.61), (7.71, 6.66))),
    "DenseNet-BC-121 (k=32), Table 1.", torchvision="densenet121",
)
_register_imagenet(
    "densenet161", 161, (6, 12, 36, 24), 48, None,
    "DenseNet-BC-161 (k=48, 96 stem channels), Table 1 of the revised paper (note 002); "
    "Table 3 gives no error for it.", torchvision="densenet161",
)
_register_imagenet(
    "densenet169", 169, (6, 12, 32, 32), 32,
    Reported(f"{TABLE3}, row DenseNet-169", errors=_table3_errors((23.80, 22.08), (6.85, 5.92))),
    "DenseNet-BC-169 (k=32), Table 1.", torchvision="densenet169",
)
_register_imagenet(
    "densenet201", 201, (6, 12, 48, 32), 32,
    Reported(f"{TABLE3}, row DenseNet-201; params from Sec. 4.4 ('a DenseNet-201 with 20M "
             "parameters')", params="20", errors=_table3_errors((22.58, 21.46), (6.34, 5.54))),
    "DenseNet-BC-201 (k=32), Table 1.", torchvision="densenet201",
)
_register_imagenet(
    "densenet264", 264, (6, 12, 64, 48), 32,
    Reported(f"{TABLE3}, row DenseNet-264", errors=_table3_errors((22.15, 20.80), (6.12, 5.29)),
             remark="Table 1's blocks 6-12-64-48 give 2·130 + 3 transitions + stem + classifier "
                    "= 265 weighted layers, one more than the name says."),
    "DenseNet-BC-264 (k=32), Table 1; not in torchvision.",
)
