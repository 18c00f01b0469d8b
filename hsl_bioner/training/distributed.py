"""Distributed training support."""
import logging

import torch.distributed as dist
from allennlp.common.util import is_distributed
from allennlp.training.callbacks import TrainerCallback

logger = logging.getLogger(__name__)


@TrainerCallback.register("bioner_leave_process_group")
class LeaveProcessGroupCallback(TrainerCallback):
    """Leaves the distributed process group when training ends (does nothing otherwise).

    After distributed training, `allennlp train` evaluates on the test set (``evaluate_on_test``)
    in the primary worker alone, while the other workers exit. Still in the process group, that
    evaluation would read only the primary's shard of the test file and make collective calls
    (metric all-reduces) that no other worker answers: gloo fails with "Connection closed by
    peer" and no archive is written. Out of the group, it reads the whole test file and computes
    its metrics locally.

    Registered as a `TrainerCallback` with name "bioner_leave_process_group".
    """

    def on_end(self, trainer, metrics=None, epoch=None, is_primary=True, **kwargs) -> None:
        if is_distributed():
            logger.info("Training finished: leaving the distributed process group.")
            dist.destroy_process_group()
