from hsl_bioner.models.hierarchical_shared_tagger import HierarchicalSharedTagger  # noqa: F401
