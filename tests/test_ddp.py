"""The training loop under torchrun: two CPU processes (gloo) end with identical weights, and with
the weights a single process reaches with the same global batch."""

import os
import subprocess
import sys
import textwrap

import pytest
import torch

from cnnpapers import data
from cnnpapers.provenance import REPO_ROOT

pytestmark = pytest.mark.skipif(
    not (data.fashion_mnist_dir() / "t10k-images-idx3-ubyte.gz").exists(),
    reason="Fashion-MNIST not installed",
)

# LeNet-5 has neither BatchNorm nor dropout, so averaging the gradients of two half batches is
# the gradient of the whole batch: DDP must reproduce the single-process run up to rounding.
CONFIG = dict(model="lenet5", budget="smoke", epochs=2, train_images=256, test_images=128,
              device="cpu")
SCRIPT = textwrap.dedent("""
    import sys, torch
    from cnnpapers.train import Callback, TrainConfig, train

    class Save(Callback):
        def on_train_end(self, state):
            torch.save({"model": state.model.state_dict(), "world": state.world_size,
                        "history": history_of(state)}, f"{sys.argv[1]}/rank{state.rank}.pt")

    def history_of(state):
        return {"train_loss": state.history.train_loss, "test_error": state.history.test_error}

    torch.set_num_threads(1)
    train(TrainConfig(**CONFIG), callbacks=[Save()], progress=False)
""").replace("CONFIG", repr(CONFIG))


def test_two_gloo_processes_end_identical_and_equal_to_one_process(tmp_path):
    script = tmp_path / "ddp_train.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT)}
    out = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         str(script), str(tmp_path)],
        env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in (0, 1))
    assert r0["world"] == r1["world"] == 2
    for name, tensor in r0["model"].items():
        assert torch.equal(tensor, r1["model"][name]), name
    assert r0["history"] == r1["history"]  # metrics are reduced over both processes

    one = _single_process_run()
    for name, tensor in one["model"].items():
        torch.testing.assert_close(r0["model"][name], tensor, rtol=1e-4, atol=1e-5)
    assert one["history"]["test_error"] == pytest.approx(r0["history"]["test_error"], abs=1 / 128)


def _single_process_run():
    from cnnpapers.train import Callback, TrainConfig, train

    class Keep(Callback):
        def on_train_end(self, state):
            self.model = {k: v.clone() for k, v in state.model.state_dict().items()}

    keep, threads = Keep(), torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        history = train(TrainConfig(**CONFIG), callbacks=[keep], progress=False)
    finally:
        torch.set_num_threads(threads)
    return {"model": keep.model, "history": {"test_error": history.test_error}}
