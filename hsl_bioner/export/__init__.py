"""Export of a trained tagger to the folder the torch-free runtime loads (docs/export_format.md)."""
from hsl_bioner.export.folder import ExportError, export_archive  # noqa: F401
