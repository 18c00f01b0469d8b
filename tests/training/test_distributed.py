import socket

import torch.distributed as dist

from hsl_bioner.training.distributed import LeaveProcessGroupCallback


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_leaves_the_process_group_at_the_end_of_training(tmp_path):
    callback = LeaveProcessGroupCallback(serialization_dir=str(tmp_path))
    callback.on_end(trainer=None)  # not distributed: nothing to do
    assert not dist.is_initialized()
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{_free_port()}", rank=0, world_size=1
    )
    try:
        callback.on_end(trainer=None, metrics={}, epoch=0, is_primary=True)
        assert not dist.is_initialized()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
