"""UTF-8 input and output for the `allennlp` commands, whatever the locale.

Under a locale whose encoding is not UTF-8 (``LC_ALL=C PYTHONUTF8=0``: ASCII), Python opens text
files and the standard streams in that encoding, and `allennlp predict` crashed writing a
non-ASCII entity (`_PredictManager` opens ``--output-file`` with ``open(path, "w")``, the
locale's encoding; the plugin never gets hold of that file). Our data and outputs are UTF-8
(``bioner-tag`` and the readers name the encoding), so when the plugin is imported by the
`allennlp` command in such a locale it does what Python itself does for the plain C locale
(PEP 538, skipped here because ``LC_ALL`` is set): LC_CTYPE becomes a UTF-8 locale, so files that
AllenNLP opens afterwards without an encoding are UTF-8, and stdin, stdout and stderr are
reconfigured to UTF-8 (their error handlers kept). Importing hsl_bioner as a library changes
nothing: a program's locale is its own business.
"""

import locale
import logging
import sys
from typing import Iterable

logger = logging.getLogger(__name__)

# UTF-8 locales, the locale-independent ones first (macOS has no C.UTF-8).
_UTF8_LOCALES = ("C.UTF-8", "C.utf8", "en_US.UTF-8", "UTF-8")


def _is_utf8(encoding: str) -> bool:
    return encoding.lower().replace("-", "").replace("_", "") == "utf8"


def _run_by_allennlp_command() -> bool:
    """True in the `allennlp` console script (which imports `allennlp.__main__`) and in
    ``python -m allennlp`` (which runs it as ``__main__``)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return "allennlp.__main__" in sys.modules or getattr(spec, "name", None) == "allennlp.__main__"


def use_utf8_for_allennlp_commands(candidates: Iterable[str] = _UTF8_LOCALES) -> bool:
    """Switches this process's text I/O to UTF-8 if it runs an `allennlp` command under a
    non-UTF-8 locale (see the module docstring); returns whether it did."""
    encoding = locale.getpreferredencoding(False)
    if _is_utf8(encoding) or not _run_by_allennlp_command():
        return False
    for name in candidates:
        try:
            locale.setlocale(locale.LC_CTYPE, name)
        except locale.Error:
            continue
        logger.info("The locale's encoding is %s: this allennlp command uses %s.", encoding, name)
        break
    else:
        logger.warning(
            "The locale's encoding is %s and no UTF-8 locale exists: files that allennlp opens "
            "itself (predict's --output-file) are written in %s; set PYTHONUTF8=1 to write UTF-8.",
            encoding,
            encoding,
        )
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and not _is_utf8(getattr(stream, "encoding", "") or ""):
            reconfigure(encoding="utf-8", errors=stream.errors)
    return True
