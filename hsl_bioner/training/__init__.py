from hsl_bioner.training.distributed import LeaveProcessGroupCallback  # noqa: F401
from hsl_bioner.training.encoder_files import EncoderFilesCallback  # noqa: F401
from hsl_bioner.training.layerwise_adamw import LayerwiseAdamWOptimizer  # noqa: F401
