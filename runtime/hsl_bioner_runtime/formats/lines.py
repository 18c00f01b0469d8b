"""Files of one document per line (``text`` and ``jsonl`` input): lines split at ``\\n`` only,
decoded as UTF-8 one by one, each turned into a document.

Why not Python's text mode: its universal newlines split a line at a lone ``\\r`` (and at
U+2028 for `str.splitlines`), which shifts every later line number; a decoding error there names
no line. Here a file is read as bytes, ``\\r\\n`` is one line end, a lone ``\\r`` is text
(whitespace to the tokenizer), and an undecodable line is a `ValueError` saying what is wrong.
"""

import codecs
import json
from typing import BinaryIO, Dict

# Byte-order marks of encodings that are not UTF-8, longest first (UTF-32 LE's begins with
# UTF-16 LE's).
_FOREIGN_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32 LE"),
    (codecs.BOM_UTF32_BE, "UTF-32 BE"),
    (codecs.BOM_UTF16_LE, "UTF-16 LE"),
    (codecs.BOM_UTF16_BE, "UTF-16 BE"),
)


def count_lines(source: BinaryIO) -> int:
    """Lines of a binary file as the readers count them: one per ``\\n``, plus a last line
    without one. Reads the stream to its end."""
    lines, last = 0, b"\n"
    for chunk in iter(lambda: source.read(1 << 20), b""):
        lines += chunk.count(b"\n")
        last = chunk[-1:]
    return lines + (last != b"\n")


def decode_line(raw: bytes, number: int) -> str:
    """The text of input line `number` (its bytes up to and including its ``\\n``), without its
    line end (``\\n`` or ``\\r\\n``). A UTF-8 byte-order mark at the start of line 1 is skipped.
    Raises `ValueError` saying what is wrong with the line."""
    if number == 1:
        for bom, encoding in _FOREIGN_BOMS:
            if raw.startswith(bom):
                raise ValueError(
                    f"the input starts with a {encoding} byte-order mark; the input must be "
                    f"UTF-8: convert it first, e.g. `iconv -f {encoding.split()[0]} -t UTF-8 "
                    "in.txt > in.utf8.txt`"
                )
        if raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
    if raw.endswith(b"\n"):
        raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise ValueError(
            f"NUL byte at byte {nul + 1} of the line ({raw[max(0, nul - 20) : nul + 20]!r}): "
            "binary data, or UTF-16/UTF-32 text without a byte-order mark; the input must be "
            "UTF-8 text"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        context = raw[max(0, error.start - 20) : error.end + 20]
        raise ValueError(
            f"not UTF-8: {error.reason} at byte {error.start + 1} of the line ({context!r}); "
            "the input must be UTF-8 text (for Latin-1 input: `iconv -f LATIN1 -t UTF-8`)"
        ) from error


def load_line(line: str, raw: bool = False) -> Dict:
    """The document of one line (without its line end): JSON ``{"text": ..., "id": ...}`` when
    the line starts with ``{`` (other keys are passed through), raw text otherwise; with `raw`,
    always raw text. A bad JSON line raises `ValueError` quoting it."""
    stripped = line.strip()
    if raw or not stripped.startswith("{"):
        return {"text": line}
    try:
        document = json.loads(stripped)
    except json.JSONDecodeError as error:
        raise ValueError(f"Invalid JSON input line {stripped[:80]!r}: {error}") from error
    if not isinstance(document, dict):
        raise ValueError(f"A JSON input line must be one object: {stripped[:80]!r}")
    if not isinstance(document.get("text"), str):
        found = type(document["text"]).__name__ if "text" in document else "none"
        raise ValueError(
            f"A JSON input line needs a string 'text' (found {found}): {stripped[:80]!r}"
        )
    doc_id = document.get("id", "")
    if isinstance(doc_id, bool) or not isinstance(doc_id, (str, int, float)):
        raise ValueError(
            "A JSON input line's 'id' must be a string or a number "
            f"(found {type(doc_id).__name__}): {stripped[:80]!r}"
        )
    return document
