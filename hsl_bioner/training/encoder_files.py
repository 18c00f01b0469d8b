"""Put the encoder's configuration and tokenizer into the model archive."""

import logging

from allennlp.common.checks import ConfigurationError
from allennlp.training.callbacks import TrainerCallback

from hsl_bioner.encoder_files import check_archived, save_encoder_files
from hsl_bioner.modules.split_embedder import SplitTransformerEmbedder

logger = logging.getLogger(__name__)


@TrainerCallback.register("bioner_encoder_files")
class EncoderFilesCallback(TrainerCallback):
    """Writes the configuration and tokenizer of the model's encoder into
    ``<serialization dir>/encoder/`` when training ends, for ``include_in_archive: ["encoder"]``
    to put them into ``model.tar.gz``: the archive then loads from any folder, without the
    encoder's original folder or the network (see `hsl_bioner.encoder_files`).

    Written at the end, not the start, of training: a folder present at construction time means
    "weights come from elsewhere", which must not hold for a run resumed with ``-r`` before its
    first checkpoint. Checks at the start that the config archives the folder.

    Registered as a `TrainerCallback` with name "bioner_encoder_files".
    """

    def on_start(self, trainer, is_primary: bool = True, **kwargs) -> None:
        super().on_start(trainer, is_primary=is_primary, **kwargs)
        if is_primary:
            check_archived(self.serialization_dir)

    def on_end(self, trainer, metrics=None, epoch=None, is_primary=True, **kwargs) -> None:
        if not is_primary:
            return
        embedders = [m for m in trainer.model.modules() if isinstance(m, SplitTransformerEmbedder)]
        if len(embedders) != 1:
            raise ConfigurationError(
                f"bioner_encoder_files needs a model with one bioner_split_transformer "
                f"embedder; this one has {len(embedders)}."
            )
        embedder = embedders[0]
        folder = save_encoder_files(
            embedder.encoder_source, self.serialization_dir, embedder.tokenizer_kwargs
        )
        logger.info("Wrote the encoder's configuration and tokenizer to %s", folder)
