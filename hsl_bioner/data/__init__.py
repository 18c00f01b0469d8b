from hsl_bioner.data.iob_reader import IobFormatError, IobTaggingReader  # noqa: F401
from hsl_bioner.data.mixed_task_loader import MixedTaskDataLoader, TemperatureSampler  # noqa: F401
from hsl_bioner.data.piece_indexer import PieceIndexer  # noqa: F401
from hsl_bioner.data.text_tokenizer import BioTextTokenizer  # noqa: F401
