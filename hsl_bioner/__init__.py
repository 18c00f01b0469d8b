"""hsl-bioner: biomedical NER with hierarchical shared transfer learning, as an AllenNLP plugin.

Importing the package registers its readers, data loader, token embedder, initializer, optimizer,
model, predictor and subcommands with AllenNLP (``--include-package hsl_bioner``, the
``.allennlp_plugins`` file or ``~/.allennlp/plugins``, see `hsl_bioner.plugin`), gives the
configuration settings their defaults and, in an `allennlp` command under a non-UTF-8 locale,
makes its text I/O UTF-8 (`hsl_bioner.encoding`).
"""
from hsl_bioner.encoding import use_utf8_for_allennlp_commands
from hsl_bioner.settings import apply_default_settings

apply_default_settings()
use_utf8_for_allennlp_commands()

from hsl_bioner import commands, data, models, modules, predictors, training  # noqa: E402,F401
