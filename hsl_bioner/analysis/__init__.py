"""The paper's data-level analysis: how the entity strings of the training data (T), of the test
gold standard (L) and of the predictions (P) overlap, as five ratios, and the pictures of them.

`sets` holds the set computation (pure functions, no I/O); `plots` draws the radar chart and the
Euler diagrams. The `allennlp bioner-analyze` subcommand (`hsl_bioner.commands.analyze`) reads the
files, runs a model when asked, and calls both.
"""
from hsl_bioner.analysis.sets import (  # noqa: F401
    NORMALISATIONS,
    RATIOS,
    REGIONS,
    SetAnalysis,
    analyse_sets,
    entity_string,
    entity_strings,
    normalise_entity,
)
