from hsl_bioner.commands.analyze import AnalyzeCommand  # noqa: F401
from hsl_bioner.commands.average import AverageCheckpoints  # noqa: F401
from hsl_bioner.commands.export import ExportTagger  # noqa: F401
from hsl_bioner.commands.tag import TagDocuments  # noqa: F401
