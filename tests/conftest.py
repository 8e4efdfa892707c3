"""Suite-wide settings: the tests use tiny tensors, where one thread beats OpenMP overhead; and
they read the committed results/ but never write into them (they see a copy)."""

import os
import shutil
from pathlib import Path

import pytest
import torch

from cnnpapers.results import RESULTS_DIR_ENV

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cli(capsys):
    """``cli(*argv)`` runs ``python -m cnnpapers *argv`` in this process and returns
    (exit status, stdout, stderr)."""
    from cnnpapers.__main__ import main

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            code = main(list(argv))
        except SystemExit as exit_:
            code = exit_.code
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.fixture(scope="session", autouse=True)
def _results_copy(tmp_path_factory):
    copy = tmp_path_factory.mktemp("results")
    shutil.copytree(ROOT / "results", copy, dirs_exist_ok=True)
    before = os.environ.get(RESULTS_DIR_ENV)
    os.environ[RESULTS_DIR_ENV] = str(copy)
    yield
    if before is None:
        os.environ.pop(RESULTS_DIR_ENV, None)
    else:
        os.environ[RESULTS_DIR_ENV] = before
