from hsl_bioner.predictors.bioner import BioNerPredictor  # noqa: F401
