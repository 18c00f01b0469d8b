
from hsl_bioner.commands.tag import TagDocuments  # noqa: F401
