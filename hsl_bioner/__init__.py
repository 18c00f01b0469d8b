"""hsl-bioner: biomedical NER with hierarchical shared transfer learning, as an AllenNLP plugin.

Importing the package registers its readers, data loader, token embedder, initializer, optimizer,
model, predictor and subcommands with AllenNLP (``--include-package hsl_bioner`` or the
``.allennlp_plugins`` file), and gives the configuration settings their defaults.
"""
from hsl_bioner.settings import apply_default_settings

apply_default_settings()

from hsl_bioner import commands, data, models, modules, predictors, training  # noqa: E402,F401
