"""The training engine: augmentation, 10-crop testing, determinism, callbacks, NaN handling,
caching, and the fast path's parity with fp32 — on LeNet-5 and tiny Fashion-MNIST subsets."""

import json
import math

import pytest
import torch
import torch.nn.functional as F
import torchvision.transforms.functional as TF
from torch import nn

from cnnpapers import augment as A
from cnnpapers import data, results
from cnnpapers.schedules import get_schedule
from cnnpapers.train import (
    Callback, CheckpointError, FastPath, NonFiniteLossError, TrainConfig, _model_kwargs,
    classification_loss, derive_seed, evaluate, fit, resolve_fast_path, run_dir_for,
    run_experiment, cpu_has_native_bf16,
)

pytestmark = pytest.mark.skipif(
    not (data.fashion_mnist_dir() / "t10k-images-idx3-ubyte.gz").exists(),
    reason="Fashion-MNIST not installed",
)


@pytest.fixture(autouse=True)
def one_thread():
    """The 2 cores are shared: one thread avoids OpenMP spinning against other processes."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def splits():
    """512 training and 256 test images from the test split, padded to LeNet-5's 32x32."""
    full = data.load_fashion_mnist("test")
    images = A.pad_to(full.images, 32)

    def part(lo, hi):
        return data.TensorDataset("fashion-mnist", "train", images[lo:hi], full.labels[lo:hi],
                                  full.classes, full.mean, full.std)
    return part(0, 512), part(512, 768)


def lenet(seed=0):
    import cnnpapers

    torch.manual_seed(seed)
    return cnnpapers.create_model("lenet5_relu")


SCHEDULE = get_schedule("fashion-mnist")


# --------------------------------------------------------------------------- augmentation


def test_crop_flip_matches_pad_slice_and_mirror():
    images = torch.randint(0, 256, (3, 2, 6, 5), dtype=torch.uint8)
    choice = A.Draw(dy=torch.tensor([0, 8, 3]), dx=torch.tensor([8, 0, 4]),
                    flip=torch.tensor([False, True, True]))
    out = A.crop_flip(images, 4, choice)
    padded = F.pad(images, (4, 4, 4, 4))
    for i in range(3):
        dy, dx = int(choice.dy[i]), int(choice.dx[i])
        expected = padded[i, :, dy:dy + 6, dx:dx + 5]
        if choice.flip[i]:
            expected = expected.flip(-1)
        assert torch.equal(out[i], expected)
    assert out.dtype == torch.uint8


def test_augmentation_draws_are_seeded_and_in_range():
    aug = A.get_augmentation("c10+")
    a = A.draw(aug, 4_000, torch.Generator().manual_seed(1))
    b = A.draw(aug, 4_000, torch.Generator().manual_seed(1))
    assert torch.equal(a.dy, b.dy) and torch.equal(a.flip, b.flip)
    assert a.dy.min() == 0 and a.dy.max() == 8 and a.dx.max() == 8  # 4-pixel pad: 9 offsets
    assert 0.45 < a.flip.float().mean() < 0.55
    none = A.draw(A.get_augmentation("none"), 100, torch.Generator())
    assert not none.flip.any() and not none.dy.any()
    with pytest.raises(ValueError, match="unknown augmentation"):
        A.get_augmentation("autoaugment")


def test_normalize_uses_the_dataset_statistics():
    x = torch.tensor([0, 255, 51], dtype=torch.uint8).view(1, 1, 1, 3)
    out = A.normalize(x, (0.2,), (0.5,))
    assert out.flatten().tolist() == pytest.approx([-0.4, 1.6, 0.0], abs=1e-6)


def test_padding_to_lenet_input_is_symmetric_and_zero():
    x = torch.full((2, 1, 28, 28), 7, dtype=torch.uint8)
    out = A.pad_to(x, 32)
    assert out.shape == (2, 1, 32, 32)
    assert torch.equal(out[:, :, 2:30, 2:30], x) and out.sum() == x.sum()
    assert A.pad_to(x, 20) is x  # large enough already: untouched


def test_padding_never_hides_an_upscale():
    with pytest.raises(ValueError, match="never upscales.*CIFAR-style"):
        A.pad_to(torch.zeros(1, 1, 28, 28, dtype=torch.uint8), 224, "alexnet")
    assert A.input_padding(28, 36) == 8  # 4 a side: the C10+ padding is the limit
    with pytest.raises(ValueError):
        A.input_padding(28, 38)


def test_ten_crop_matches_torchvision():
    x = torch.randn(2, 3, 9, 9)
    ours = A.ten_crop(x, 5)
    theirs = TF.ten_crop(x, [5, 5])
    assert ours.shape == (10, 2, 3, 5, 5)
    for view, ref in zip(ours, theirs):
        assert torch.equal(view, ref)


# --------------------------------------------------------------------------- evaluation


def test_ten_crop_evaluation_averages_the_softmax_of_ten_views(splits):
    _, test = splits
    model = lenet().eval()
    got = evaluate(model, test, ten_crop=True, crop_padding=4, device="cpu")
    images = A.normalize(test.images, test.mean, test.std)
    # zero-padding happens on uint8 pixels, i.e. in black, before normalisation
    padded = A.normalize(F.pad(test.images, (4,) * 4), test.mean, test.std)
    with torch.no_grad():
        probs = torch.stack([model(v).softmax(1) for v in A.ten_crop(padded, 32)]).mean(0)
    assert got["error"] == pytest.approx((probs.argmax(1) != test.labels).float().mean().item())
    assert got["loss"] == pytest.approx(F.nll_loss(probs.log(), test.labels).item(), rel=1e-5)
    single = evaluate(model, test, device="cpu")
    with torch.no_grad():
        expected = F.cross_entropy(model(images), test.labels).item()
    assert single["loss"] == pytest.approx(expected, rel=1e-5)


def test_auxiliary_heads_add_three_tenths_of_their_loss():
    y = torch.tensor([1, 0])
    main, aux1, aux2 = torch.randn(2, 3), torch.randn(2, 3), torch.randn(2, 3)
    aux = F.cross_entropy(aux1, y) + F.cross_entropy(aux2, y)
    expected = F.cross_entropy(main, y) + 0.3 * aux
    assert torch.allclose(classification_loss((main, aux1, aux2), y), expected)
    assert torch.equal(classification_loss(main, y), F.cross_entropy(main, y))


# --------------------------------------------------------------------------- the loop


def _fit(splits, seed=0, **kw):
    train, test = splits
    kw.setdefault("epochs", 2)
    return fit(lenet(seed), train, test, SCHEDULE, seed=seed, device="cpu", progress=False, **kw)


def test_same_seed_same_numbers_other_seed_other_numbers(splits):
    a, b, c = _fit(splits, 0), _fit(splits, 0), _fit(splits, 1)
    assert a.train_loss == b.train_loss and a.test_loss == b.test_loss
    assert a.train_loss != c.train_loss
    assert a.epoch == [1, 2] and len(a.images_per_s) == 2 and a.wall_time_s[1] > a.wall_time_s[0]
    assert a.train_loss[1] < a.train_loss[0]  # it learns


def test_learning_rate_follows_the_schedule_step_by_step(splits):
    class RecordLR(Callback):
        def __init__(self):
            self.lrs, self.grads = [], []

        def on_batch_end(self, state):
            self.lrs.append(state.optimizer.param_groups[0]["lr"])
            self.grads.append(all(p.grad is not None for p in state.model.parameters()))

    rec = RecordLR()
    history = _fit(splits, epochs=2, callbacks=[rec])
    steps = 2 * (512 // 64)
    assert rec.lrs == pytest.approx([0.1] * 8 + [0.01] * 4 + [0.001] * 4)  # drops at 50% and 75%
    assert len(rec.lrs) == steps and all(rec.grads)  # gradients visible to probes
    assert history.lr == pytest.approx([0.1, 0.001])


def test_per_epoch_streams_are_independent_of_history():
    assert derive_seed(0, "shuffle", 3) == derive_seed(0, "shuffle", 3)
    assert len({derive_seed(0, "shuffle", e) for e in range(100)}) == 100
    assert derive_seed(0, "shuffle", 1) != derive_seed(0, "augment", 1)


class _BreaksAt(nn.Module):
    """LeNet-5 whose output turns NaN once ``broken`` is set."""

    def __init__(self):
        super().__init__()
        self.net, self.broken = lenet(), False

    def forward(self, x):
        out = self.net(x)
        return out * float("nan") if self.broken else out


class _BreakAfterEpoch(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, state):
        if state.epoch + 1 == self.epoch:
            state.model.broken = True


def test_nan_loss_stops_with_a_clear_message_and_keeps_the_last_good_checkpoint(splits, tmp_path):
    train, test = splits
    model, ckpt = _BreaksAt(), tmp_path / "run" / "checkpoint.pt"
    message = r"training loss became nan in epoch 2 .*after epoch 1"
    with pytest.raises(NonFiniteLossError, match=message):
        fit(model, train, test, SCHEDULE, epochs=3, device="cpu", progress=False,
            checkpoint=ckpt, callbacks=[_BreakAfterEpoch(1)])
    kept = torch.load(ckpt, weights_only=False)
    assert kept["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in kept["model"].values())
    assert [p.name for p in ckpt.parent.iterdir()] == ["checkpoint.pt"]  # no temporary left behind


def test_nan_in_the_first_epoch_says_there_is_no_checkpoint(splits, tmp_path):
    train, test = splits
    model = _BreaksAt()
    model.broken = True
    with pytest.raises(NonFiniteLossError, match="No epoch finished"):
        fit(model, train, test, SCHEDULE, epochs=1, device="cpu", progress=False,
            checkpoint=tmp_path / "c.pt")
    assert not (tmp_path / "c.pt").exists()


def test_resume_refuses_a_checkpoint_of_another_run(splits, tmp_path):
    ckpt = tmp_path / "c.pt"
    _fit(splits, epochs=1, checkpoint=ckpt)
    with pytest.raises(ValueError, match=r"different run \(differs in \['epochs'\]\)"):
        _fit(splits, epochs=2, checkpoint=ckpt, resume=True)


def test_in_process_resume_continues_exactly(splits, tmp_path):
    whole = _fit(splits, epochs=3)
    ckpt = tmp_path / "c.pt"
    # run two epochs, then "crash" in the third, after the second epoch's checkpoint
    with pytest.raises(_Crash):
        _fit(splits, epochs=3, checkpoint=ckpt, callbacks=[_Interrupt(after_epoch=2)])
    resumed = _fit(splits, epochs=3, checkpoint=ckpt, resume=True)
    assert resumed.train_loss == whole.train_loss and resumed.test_error == whole.test_error


def test_resume_without_a_checkpoint_is_an_error_not_a_fresh_start(splits, tmp_path):
    with pytest.raises(CheckpointError, match=r"nothing to resume: there is no checkpoint at .*c\.pt"):
        _fit(splits, epochs=1, checkpoint=tmp_path / "c.pt", resume=True)
    assert not (tmp_path / "c.pt").exists()


def test_after_a_nan_the_run_goes_on_from_the_last_good_checkpoint_at_a_lower_lr(splits, tmp_path):
    train, test = splits
    ckpt, half = tmp_path / "run" / "checkpoint.pt", tmp_path / "half" / "checkpoint.pt"
    with pytest.raises(NonFiniteLossError) as diverged:
        fit(_BreaksAt(), train, test, SCHEDULE, epochs=3, device="cpu", progress=False,
            checkpoint=ckpt, callbacks=[_BreakAfterEpoch(1)])
    advice = str(diverged.value)  # names the exact option, in both spellings
    assert "`--continue-lr-scale 0.5`" in advice and f'continue_from="{ckpt}", lr_scale=0.5' in advice
    went_on = fit(_BreaksAt(), train, test, SCHEDULE, epochs=3, device="cpu", progress=False,
                  checkpoint=half, continue_from=ckpt, lr_scale=0.5)
    assert went_on.epoch == [1, 2, 3]
    assert went_on.lr == pytest.approx([0.1, 0.005, 0.0005])  # epoch 1 is the diverged run's
    assert went_on.continued_from == {"checkpoint": str(ckpt), "epoch": 1, "lr_scale": 0.5}
    assert torch.load(ckpt, weights_only=False)["epoch"] == 1  # the plain run's checkpoint is kept
    with pytest.raises(CheckpointError, match=r"differs in \['lr_scale'\]"):
        _fit(splits, epochs=3, checkpoint=half, resume=True)  # never taken for the plain run's


class _Crash(RuntimeError):
    pass


class _Interrupt(Callback):
    """Crash at the start of the epoch after ``after_epoch`` (its checkpoint is then written)."""

    def __init__(self, after_epoch):
        self.after_epoch = after_epoch

    def on_batch_end(self, state):
        if state.epoch == self.after_epoch:
            raise _Crash


# --------------------------------------------------------------------------- fast path


def test_fast_path_defaults_follow_the_hardware():
    cpu = resolve_fast_path(torch.device("cpu"))
    assert cpu.bf16 == cpu_has_native_bf16() and cpu.channels_last
    assert not cpu.compile and not cpu.cuda_graphs
    forced = resolve_fast_path(torch.device("cpu"), bf16=True, channels_last=False, compile=False)
    assert (forced.bf16, forced.channels_last) == (True, False)
    with pytest.raises(ValueError, match="cuda_graphs needs a CUDA device"):
        resolve_fast_path(torch.device("cpu"), cuda_graphs=True)


@pytest.mark.parametrize("native", [True, False])
def test_the_cpu_default_turns_bf16_on_exactly_where_the_cpu_computes_it_natively(monkeypatch,
                                                                                   native):
    import cnnpapers.train

    monkeypatch.setattr(cnnpapers.train, "cpu_has_native_bf16", lambda: native)
    assert resolve_fast_path(torch.device("cpu")).bf16 is native
    assert resolve_fast_path(torch.device("cpu"), bf16=False).bf16 is False


def test_bf16_channels_last_path_matches_fp32_within_noise(splits):
    plain = _fit(splits, epochs=2, fast=FastPath.plain())
    fast = _fit(splits, epochs=2, fast=FastPath(bf16=True, channels_last=True))
    assert plain.train_loss != fast.train_loss  # really a different numeric path
    for a, b in zip(plain.train_loss, fast.train_loss):
        assert abs(a - b) < 0.05
    assert abs(plain.test_error[-1] - fast.test_error[-1]) < 0.05


# --------------------------------------------------------------------------- configured runs


def test_schedule_dropout_applies_only_without_augmentation():
    svhn = TrainConfig("densenet_bc_100_k12", dataset="svhn")
    assert svhn.resolved_schedule().name == "densenet-svhn"
    none, c10 = A.get_augmentation("none"), A.get_augmentation("c10+")
    assert _model_kwargs(svhn, svhn.resolved_schedule(), none) == {"drop_rate": 0.2}
    assert _model_kwargs(svhn, svhn.resolved_schedule(), c10) == {}
    mine = TrainConfig("densenet_bc_100_k12", dataset="svhn", model_kwargs={"drop_rate": 0.1})
    assert _model_kwargs(mine, mine.resolved_schedule(), none) == {"drop_rate": 0.1}
    lenet5 = TrainConfig("lenet5", dataset="svhn")  # no drop_rate hyper-parameter: nothing added
    assert _model_kwargs(lenet5, lenet5.resolved_schedule(), none) == {}


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="unknown dataset"):
        TrainConfig("lenet5", dataset="mnist")
    with pytest.raises(ValueError, match="unknown budget"):
        TrainConfig("lenet5", budget="huge")
    with pytest.raises(ValueError, match="list_models"):
        TrainConfig("lenet6")
    with pytest.raises(ValueError, match="unknown schedule"):
        TrainConfig("lenet5", schedule="adam")
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        TrainConfig("lenet5", epochs=0)


def test_run_experiment_caches_with_provenance(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNPAPERS_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("CNNPAPERS_RUNS", str(tmp_path / "runs"))
    config = TrainConfig("lenet5_relu", budget="cpu", epochs=1, train_images=256, test_images=128,
                         device="cpu")

    class Count(Callback):
        epochs = 0

        def on_epoch_end(self, state):
            Count.epochs += 1

    first = run_experiment("test/lenet", config, callbacks=[Count()], progress=False)
    again = run_experiment("test/lenet", config, callbacks=[Count()], progress=False)
    assert Count.epochs == 1  # the second call read the cache
    files = list((tmp_path / "results" / "cpu" / "test" / "lenet").glob("*.json"))
    assert len(files) == 1
    stored = json.loads(files[0].read_text())
    assert stored["config"]["model"] == "lenet5_relu"
    assert stored["config"]["schedule"] == "fashion-mnist"
    assert stored["provenance"]["budget"] == "cpu" and "device_name" in stored["provenance"]
    assert stored["metrics"]["train_images"] == 256 and stored["metrics"]["epochs"] == 1
    assert stored["curves"]["test_error"] == [first.metrics["test_error"]]
    assert again.metrics == first.metrics and math.isfinite(first.metrics["test_loss"])
    assert (tmp_path / "runs" / "cpu" / "test" / "lenet").is_dir()


def test_a_fast_path_is_labelled_by_the_speed_ups_that_are_on():
    assert FastPath.plain().label == "fp32 eager"  # data on the device is not a speed-up label
    assert FastPath(bf16=True, channels_last=True).label == "bf16, channels_last"
    assert FastPath(compile=True, cuda_graphs=True, data_on_device=False).label == \
        "compile, cuda_graphs"


def _tiny(**kw):
    return TrainConfig("lenet5_relu", budget="cpu", epochs=2, train_images=256, test_images=128,
                       device="cpu", **kw)


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNPAPERS_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("CNNPAPERS_RUNS", str(tmp_path / "runs"))
    return tmp_path


def _killed_after_epoch_1(config):
    with pytest.raises(_Crash):
        run_experiment("test/lenet", config, callbacks=[_Interrupt(after_epoch=1)], progress=False)
    return run_dir_for("test/lenet", config) / "checkpoint.pt"


def test_resume_with_other_settings_names_the_checkpoints_that_exist(store):
    kept = _killed_after_epoch_1(_tiny())
    with pytest.raises(CheckpointError) as err:
        run_experiment("test/lenet", _tiny(seed=1), resume=True, progress=False)
    message = str(err.value)
    assert "nothing to resume" in message and str(kept) in message
    assert "seed=0 there, 1 here" in message
    with pytest.raises(CheckpointError, match="test/other has no checkpoint at budget cpu at all"):
        run_experiment("test/other", _tiny(), resume=True, progress=False)
    assert not list((store / "results").rglob("*.json"))  # neither trained nor stored anything


def test_a_continuation_is_a_run_of_its_own_and_a_resume_adds_up_wall_time(store):
    base = _killed_after_epoch_1(_tiny())
    first_session = torch.load(base, weights_only=False)["elapsed_s"]
    half = run_experiment("test/lenet", _tiny(), continue_lr_scale=0.5, progress=False)
    assert half.config["continued"] == {"from_epoch": 1, "lr_scale": 0.5}
    assert half.provenance["continued_from"] == {"checkpoint": str(base), "epoch": 1,
                                                 "lr_scale": 0.5}
    plain = run_experiment("test/lenet", _tiny(), resume=True, progress=False)
    assert "continued" not in plain.config and "continued_from" not in plain.provenance
    assert results.config_hash(plain.config) != results.config_hash(half.config)
    assert half.curves["lr"] == pytest.approx([plain.curves["lr"][0], 0.5 * plain.curves["lr"][1]])
    assert plain.provenance["earlier_sessions_s"] == round(first_session, 2) > 0
    assert plain.provenance["wall_time_s"] > plain.provenance["earlier_sessions_s"]
    assert len(list((store / "results").rglob("*.json"))) == 2


def test_the_command_line_continues_a_run_at_a_lower_learning_rate(store, cli):
    base = _killed_after_epoch_1(_tiny())
    code, out, err = cli("train", "--model", "lenet5_relu", "--budget", "cpu", "--epochs", "2",
                         "--train-images", "256", "--test-images", "128", "--device", "cpu",
                         "--experiment", "test/lenet", "--no-progress", "--continue-lr-scale", "0.5")
    assert code == 0, err
    assert f"continuing from {base} after epoch 1/2 with the learning rate x0.5" in out
    assert "epoch 2/2: train loss" in out and "epoch 1/2:" not in out
