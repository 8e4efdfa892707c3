import matplotlib
import pytest
import torch

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)


@pytest.fixture(autouse=True)
def one_thread_and_no_open_figures():
    """Two OpenMP threads on a shared 2-core machine spin against other processes and run about
    ten times slower than one; the analysis tests measure nothing that needs more."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
    plt.close("all")
