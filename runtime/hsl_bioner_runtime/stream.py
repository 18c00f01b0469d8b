"""Tag a stream of documents into an output file: the loop behind every `bioner-tag`.

The same loop serves `allennlp bioner-tag` (the torch predictor tags a batch) and the runtime's
`bioner-tag` (the ONNX tagger does): input in any of `INPUT_FORMATS`, one output document per
input document, in order, written by a `DocumentWriter`, batches of documents handed to a
``tag_batch`` function. Nothing is lost silently: a document that cannot be read stops the run
with an `InputLineError` naming where it is, after the output documents of everything before it
have been written and flushed; a document that fails in the tagger is found by tagging its batch
one document at a time, and named the same way.
"""

from typing import IO, BinaryIO, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from hsl_bioner_runtime.formats.documents import DOCUMENT_FORMATS, Document
from hsl_bioner_runtime.formats.lines import decode_line, load_line
from hsl_bioner_runtime.formats.readers import HEAD_BYTES, detect_input_format, read_documents
from hsl_bioner_runtime.formats.writers import DocumentWriter, document_writer

# Documents in, one output record per document out, in order.
TagBatch = Callable[[Sequence[Dict]], List[Dict]]


class InputLineError(ValueError):
    """An input document that could not be read or tagged. The message starts with where it is
    (``name:line`` for files of lines, the reader's ``name:line`` or document number for document
    files) and says how many output documents were written before it (those of every earlier
    input document). `line` is the line number in a file of lines, else None."""

    def __init__(self, where: str, written: int, reason: str, line: Optional[int] = None) -> None:
        self.where = where
        self.reason = reason
        self.line = line
        self.written = written
        before = "one per line before it" if line is not None else "one per document before it"
        super().__init__(
            f"{self.located} ({written} record{'' if written == 1 else 's'}, {before}, written)"
        )

    @property
    def located(self) -> str:
        """Where and why, without the count of records written (for outputs that are discarded
        whole, as a failed shard's is)."""
        return f"{self.where}{': ' if self.where else ''}{self.reason}"


class _Unreadable(Exception):
    """Raised by `_documents` for an input document that cannot be read: `where` and `reason`."""

    def __init__(self, where: str, reason: str, line: Optional[int]) -> None:
        super().__init__(reason)
        self.where, self.reason, self.line = where, reason, line


def detect_format(source: BinaryIO) -> str:
    """The input format of a binary stream from its first bytes, which are not consumed (the
    stream must be seekable or peekable, as files and stdin are)."""
    if hasattr(source, "peek") and not source.seekable():
        return detect_input_format(source.peek(HEAD_BYTES)[:HEAD_BYTES])
    position = source.tell()
    head = source.read(HEAD_BYTES)
    source.seek(position)
    return detect_input_format(head)


def _documents(
    source: BinaryIO, input_format: str, name: str, keep_annotations: bool
) -> Iterator[Tuple[str, Dict]]:
    """``(where, document)`` of every input document, in order."""
    if input_format in DOCUMENT_FORMATS:
        documents = read_documents(source, input_format, name, keep_annotations)
        number = 0
        while True:
            try:
                document = next(documents)
            except StopIteration:
                return
            except ValueError as error:  # the reader's message says where
                raise _Unreadable("", str(error), None) from error
            number += 1
            yield f"{name}: document {number} (id {document.id!r})", document.to_json()
        return
    for number, raw in enumerate(source, start=1):
        where = f"{name}:{number}"
        try:
            document = load_line(decode_line(raw, number), raw=input_format == "text")
            if "passages" in document:
                Document.from_json(document)  # checked here, where the line is known
        except ValueError as error:
            raise _Unreadable(where, str(error), number) from error
        yield where, document


def tag_stream(
    tag_batch: TagBatch,
    source: BinaryIO,
    sink: IO[str],
    batch_size: int,
    name: str,
    progress=None,
    input_format: str = "jsonl",
    writer: Optional[DocumentWriter] = None,
    keep_annotations: bool = False,
) -> int:
    """Tags the documents of `source` (binary, in `input_format`: one of `INPUT_FORMATS`, or
    "auto" to detect it) in batches of `batch_size` with `tag_batch` and writes one output
    document per input document to `sink` with `writer` (default: JSON lines); returns how many
    were written. `name` names the input in errors; `progress` (a tqdm bar) counts the documents
    as they are written. Raises `InputLineError` as the module docstring says."""
    if input_format == "auto":
        input_format = detect_format(source)
    writer = writer or document_writer("json")
    written = 0
    batch: List[Tuple[str, Dict]] = []
    sink.write(writer.header())

    def write(records: List[Dict]) -> None:
        nonlocal written
        for record in records:
            written += 1
            sink.write(writer.document(record, default_id=written))
        if progress is not None:
            progress.update(len(records))

    def flush() -> None:
        if not batch:
            return
        try:
            records = tag_batch([document for _, document in batch])
        except Exception:
            # One by one: the documents before the failing one are written, and it is named.
            for where, document in batch:
                try:
                    record = tag_batch([document])
                except Exception as error:
                    sink.flush()
                    raise InputLineError(
                        where, written, f"{type(error).__name__}: {error}", _line(where, name)
                    ) from error
                write(record)
        else:
            write(records)
        batch.clear()

    documents = _documents(source, input_format, name, keep_annotations)
    while True:
        try:
            where, document = next(documents)
        except StopIteration:
            break
        except _Unreadable as error:
            flush()
            sink.flush()
            raise InputLineError(error.where, written, error.reason, error.line) from (
                error.__cause__
            )
        batch.append((where, document))
        if len(batch) == batch_size:
            flush()
    flush()
    sink.write(writer.footer())
    sink.flush()
    return written


def _line(where: str, name: str) -> Optional[int]:
    number = where[len(name) + 1 :]
    return int(number) if where.startswith(f"{name}:") and number.isdigit() else None

