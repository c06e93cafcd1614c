"""Run small torch work on one thread."""

from __future__ import annotations

from contextlib import contextmanager

import torch


@contextmanager
def single_thread():
    """torch on one thread inside the block, restored after.

    For the small matrices of the evidence (tens of tokens), splitting work over threads
    costs more than it saves, and on a busy machine it costs several times more.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
