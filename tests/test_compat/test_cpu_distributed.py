"""The CPU-distributed shim: mmengine's pytorch launcher path works without CUDA."""
import os
import socket

import pytest
import torch
import torch.distributed as dist
from mmengine.dist import init_dist
from mmengine.model import MMDistributedDataParallel

from mmrazor_relkd.compat import enable_cpu_distributed


@pytest.fixture
def single_process_group(monkeypatch):
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    for key, value in dict(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1',
                           MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port)).items():
        monkeypatch.setenv(key, value)
    yield
    if dist.is_initialized():
        dist.destroy_process_group()


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU-only path')
def test_nccl_request_falls_back_to_gloo_without_cuda(single_process_group):
    init_dist('pytorch', backend='nccl')
    assert dist.get_backend() == 'gloo'
    model = MMDistributedDataParallel(module=torch.nn.Linear(2, 1),
                                      device_ids=[int(os.environ['LOCAL_RANK'])])
    assert model.device_ids is None
    out = model(torch.ones(3, 2))
    out.sum().backward()
    assert model.module.weight.grad is not None


def test_shim_is_installed_once():
    assert enable_cpu_distributed() is False
