from hsl_bioner.training.layerwise_adamw import LayerwiseAdamWOptimizer  # noqa: F401
