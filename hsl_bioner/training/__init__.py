from hsl_bioner.training.distributed import LeaveProcessGroupCallback  # noqa: F401
from hsl_bioner.training.encoder_files import EncoderFilesCallback  # noqa: F401
from hsl_bioner.training.layerwise_adamw import LayerwiseAdamWOptimizer  # noqa: F401
from hsl_bioner.training.span_f1 import SpanF1  # noqa: F401
