"""Shared test settings: one torch thread (the tests are small; oversubscribing 2 cores with
several processes makes them slower, not faster)."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
