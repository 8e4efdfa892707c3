"""Where a number came from: code version, library versions, device, budget.

Every cached result and every book page carries a :func:`collect` record, so a reader can tell
which commit, machine and budget produced what they are looking at.
"""

from __future__ import annotations

import datetime as _dt
import functools
import os
import platform
import subprocess
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


COMMIT_ENV = "CNNPAPERS_COMMIT"


def git_state() -> dict[str, object]:
    """Commit hash and whether tracked files differ from it.

    ``$CNNPAPERS_COMMIT``, when set, names the commit instead, with ``dirty`` ``None`` (unknown):
    for a copy of the tree on a GPU machine, whose ``.git`` (if it travels at all) can be older
    than the files beside it.
    """
    given = os.environ.get(COMMIT_ENV)
    if given:
        return {"commit": given, "dirty": None}
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": None if status is None or commit is None else bool(status)}


@functools.cache
def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: str | torch.device = "cpu") -> str:
    """Human-readable name of the device a number was measured on."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{cpu_name()} ({torch.get_num_threads()} threads)"


def collect(device: str | torch.device = "cpu", **extra: object) -> dict[str, object]:
    import torchvision

    record: dict[str, object] = {
        **git_state(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "python": platform.python_version(),
        "device": str(torch.device(device)),
        "device_name": device_name(device),
        "host_cpus": os.cpu_count(),
    }
    record.update(extra)
    return record


def caption(prov: dict[str, object]) -> str:
    """One line for under a table or figure: budget, device, commit and date."""
    commit = str(prov.get("commit") or "unknown")[:10]
    dirty = "+dirty" if prov.get("dirty") else ""
    date = str(prov.get("date", ""))[:10]
    return (
        f"budget {prov.get('budget', '?')} · {prov.get('device_name', prov.get('device', '?'))}"
        f" · commit {commit}{dirty} · {date}"
    )
