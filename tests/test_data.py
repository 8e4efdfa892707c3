"""Dataset loaders: the real Fashion-MNIST, and every way a file can be broken (real files)."""

import gzip
import shutil

import pytest
import torch

from cnnpapers import data
from cnnpapers.data import DatasetError, load_dataset, load_fashion_mnist

REAL = data.fashion_mnist_dir()
pytestmark = pytest.mark.skipif(
    not (REAL / "t10k-images-idx3-ubyte.gz").exists(),
    reason=f"Fashion-MNIST not installed ({data.INSTALL_HINT})",
)
TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"


@pytest.fixture(scope="module")
def train_split():
    return load_fashion_mnist("train")


def test_real_train_split(train_split):
    assert train_split.images.shape == (60_000, 1, 28, 28)
    assert train_split.images.dtype == torch.uint8 and train_split.labels.dtype == torch.int64
    assert torch.bincount(train_split.labels).tolist() == [6_000] * 10  # balanced, Xiao et al. 2017
    assert train_split.num_classes == 10 and train_split.classes[9] == "Ankle boot"


def test_stored_statistics_are_the_training_split_s(train_split):
    pixels = train_split.images.double() / 255
    assert pixels.mean().item() == pytest.approx(train_split.mean[0], abs=5e-4)
    assert pixels.std().item() == pytest.approx(train_split.std[0], abs=5e-4)


def test_real_test_split():
    test = load_fashion_mnist("test")
    assert test.images.shape == (10_000, 1, 28, 28)
    assert torch.bincount(test.labels).tolist() == [1_000] * 10


def test_subset_is_stratified_and_seeded(train_split):
    a, b = train_split.subset(1_000, seed=3), train_split.subset(1_000, seed=3)
    assert torch.equal(a.labels, b.labels) and torch.equal(a.images, b.images)
    assert torch.bincount(a.labels).tolist() == [100] * 10
    assert not torch.equal(train_split.subset(1_000, seed=4).labels, a.labels)


@pytest.fixture
def copy_test_split(tmp_path):
    for name in (TEST_IMAGES, TEST_LABELS):
        shutil.copy(REAL / name, tmp_path / name)
    return tmp_path


def _rewrite(path, transform):
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(transform(raw), compresslevel=1))


def test_root_and_environment_variable_are_honoured(copy_test_split, monkeypatch):
    assert len(load_fashion_mnist("test", root=copy_test_split)) == 10_000
    monkeypatch.setenv(data.FASHION_MNIST_ENV, str(copy_test_split))
    assert len(load_fashion_mnist("test")) == 10_000


def test_missing_file(copy_test_split):
    (copy_test_split / TEST_LABELS).unlink()
    with pytest.raises(DatasetError, match="missing.*apt-get install dataset-fashion-mnist"):
        load_fashion_mnist("test", root=copy_test_split)


def test_wrong_magic_number(copy_test_split):
    # the labels file where the images file should be
    shutil.copy(copy_test_split / TEST_LABELS, copy_test_split / TEST_IMAGES)
    with pytest.raises(DatasetError, match="magic number 2049, expected 2051"):
        load_fashion_mnist("test", root=copy_test_split)


def test_truncated_gzip(copy_test_split):
    path = copy_test_split / TEST_IMAGES
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DatasetError, match="corrupt or truncated"):
        load_fashion_mnist("test", root=copy_test_split)


def test_payload_shorter_than_header_says(copy_test_split):
    _rewrite(copy_test_split / TEST_IMAGES, lambda raw: raw[:-784])
    with pytest.raises(DatasetError, match=r"bytes but the header \[10000, 28, 28\]"):
        load_fashion_mnist("test", root=copy_test_split)


def test_file_shorter_than_a_header(copy_test_split):
    _rewrite(copy_test_split / TEST_LABELS, lambda raw: raw[:5])
    with pytest.raises(DatasetError, match="shorter than an IDX header"):
        load_fashion_mnist("test", root=copy_test_split)


def test_consistent_file_of_the_wrong_size(copy_test_split):
    # a well-formed IDX file with 9,999 labels: no longer Fashion-MNIST's test split
    _rewrite(copy_test_split / TEST_LABELS,
             lambda raw: raw[:4] + (9_999).to_bytes(4, "big") + raw[8:-1])
    with pytest.raises(DatasetError, match=r"Fashion-MNIST has \(10000, 28, 28\) and \(10000,\)"):
        load_fashion_mnist("test", root=copy_test_split)


def test_label_out_of_range(copy_test_split):
    _rewrite(copy_test_split / TEST_LABELS, lambda raw: raw[:-1] + bytes([10]))
    with pytest.raises(DatasetError, match="label 10 outside 0..9"):
        load_fashion_mnist("test", root=copy_test_split)


@pytest.mark.parametrize("name", ["cifar10", "cifar100", "svhn"])
def test_missing_torchvision_dataset_names_the_fix(name, tmp_path):
    with pytest.raises(DatasetError) as err:
        load_dataset(name, "test", root=tmp_path / "empty")
    message = str(err.value)
    assert "--download" in message and "--data-root" in message and name in message


def test_unknown_dataset_and_split():
    with pytest.raises(ValueError, match="unknown dataset 'mnist'; choose one of"):
        load_dataset("mnist")
    with pytest.raises(ValueError, match="load_imagenet"):
        load_dataset("imagenet")
    with pytest.raises(ValueError, match="unknown split 'val'"):
        load_fashion_mnist("val")
