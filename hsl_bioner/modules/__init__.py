from hsl_bioner.modules.archive_initializer import ArchiveInitializer  # noqa: F401
from hsl_bioner.modules.split_embedder import SplitTransformerEmbedder  # noqa: F401
from hsl_bioner.modules.split_transformer import SplitTransformer  # noqa: F401
