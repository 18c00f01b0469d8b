"""A dataset reader for IOB corpora: one ``TOKEN<TAB>TAG`` per line, sentences separated by blank
lines (the format of the MTL-Bioinformatics-2016 corpora)."""
import logging
import re
from typing import Dict, Iterator, List, NamedTuple, NoReturn, Optional, Sequence, Tuple, Union

from allennlp.common.checks import ConfigurationError
from allennlp.common.file_utils import cached_path
from allennlp.data.dataset_readers.dataset_reader import DatasetReader, PathOrStr
from allennlp.data.fields import Field, MetadataField, SequenceLabelField, TextField
from allennlp.data.instance import Instance
from allennlp.data.token_indexers import SingleIdTokenIndexer, TokenIndexer
from allennlp.data.tokenizers import Token

from hsl_bioner.data import task_groups
from hsl_bioner_runtime.tag_schemes import (
    CODING_SCHEMES,
    TagSequenceError,
    check_type_map,
    convert,
    normalize_scheme,
    validate_tags,
)

logger = logging.getLogger(__name__)

DOCSTART = "-DOCSTART-"
_MAX_SHOWN = 80
_UTF8_BOM = b"\xef\xbb\xbf"


class IobFormatError(ValueError):
    """A malformed IOB file. The message starts with ``path:line_number`` (1-based) and ends with
    the offending line, shortened to at most 80 characters (control characters escaped)."""

    def __init__(self, path: str, line_number: int, problem: str, line: Optional[str] = None):
        message = f"{path}:{line_number}: {problem}"
        if line is not None:
            message += f": {_show(line)}"
        super().__init__(message)
        self.path = path
        self.line_number = line_number
        self.problem = problem
        self.line = line

    def __reduce__(self):  # picklable, so it survives a trip from a data-loader worker
        return type(self), (self.path, self.line_number, self.problem, self.line)


def _show(line: str) -> str:
    """The line quoted for an error message: tabs and control characters escaped, at most 80
    characters of text."""
    shown = "".join(
        "\\t" if ch == "\t" else f"\\x{ord(ch):02x}" if _is_control(ch) else ch for ch in line
    )
    if len(shown) > _MAX_SHOWN:
        shown = shown[: _MAX_SHOWN - 3] + "..."
    return f'"{shown}"'


def _is_control(ch: str) -> bool:
    return ch < " " or "\x7f" <= ch <= "\x9f"


# Consecutive well-formed lines: token (no tab, no control character), tab, tag (no whitespace),
# line end. They are split with str methods; any other line is looked at on its own.
_PLAIN_BLOCK = re.compile(
    r"(?:[^\t\n\x00-\x1f\x7f-\x9f]+\t[^\s\x00-\x1f\x7f-\x9f]+\r?(?:\n|\Z))+"
)
_LEADING_SPACE = re.compile(r"^\s", re.MULTILINE)
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def _decode(data: bytes, path: str) -> Tuple[str, Optional[IobFormatError]]:
    """The text of the file up to its first line that is not UTF-8 text (NUL bytes included), and
    the error about that line (None when the whole file is good)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise IobFormatError(
            path, 1, "the file looks like UTF-16 (byte-order mark); save it as UTF-8"
        )
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    nul = data.find(b"\x00")
    problem = None
    try:
        if nul < 0:
            return data.decode("utf-8"), None
        data[:nul].decode("utf-8")
        bad = nul
        problem = "NUL byte in the line: this looks like a binary file, not UTF-8 text"
    except UnicodeDecodeError as error:
        bad = error.start
    start = data.rfind(b"\n", 0, bad) + 1
    end = data.find(b"\n", start)
    raw = data[start : len(data) if end < 0 else end]
    if problem is None:
        problem = (
            f"invalid UTF-8 at byte {bad - start + 1} of the line (is the file Latin-1 or "
            "cp1252? save it as UTF-8)"
        )
    line = raw.decode("utf-8", errors="backslashreplace")
    error = IobFormatError(path, data.count(b"\n", 0, start) + 1, problem, _strip_cr(line))
    return data[:start].decode("utf-8"), error


def _strip_cr(line: str) -> str:
    return line[:-1] if line.endswith("\r") else line


class IobSentence(NamedTuple):
    """One sentence of an IOB file: its tokens, their tags as written in the file (not converted)
    and ``source`` = ``"path:line"`` of its first token."""

    words: List[str]
    tags: List[str]
    source: str


class _Parser:
    """The state of reading one file: the sentence being read and the counts for the log."""

    def __init__(self, path: str, scheme: str) -> None:
        self.path = path
        self.scheme = scheme
        self.words: List[str] = []
        self.tags: List[str] = []
        self.first_line = 0
        self.line_number = 0  # of the last line read
        self.previous_was_blank = True  # the start of the file counts as a blank line
        self.sentences = self.tokens = self.empty_sentences = self.docstarts = 0

    def plain_lines(self, words: List[str], tags: List[str]) -> None:
        """Adds well-formed ``TOKEN<TAB>TAG`` lines that follow the last line read."""
        if not self.words:
            self.first_line = self.line_number + 1
        self.words.extend(words)
        self.tags.extend(tags)
        self.line_number += len(words)
        self.previous_was_blank = False

    def line(self, line: str) -> Optional[IobSentence]:
        """Reads the next line (without its line end); returns the sentence it ends, if any."""
        self.line_number += 1
        line = _strip_cr(line)
        control = _CONTROL.search(line)
        if control is not None:
            what = (
                "carriage return inside the line (old Mac line ends? use LF or CRLF)"
                if control.group() == "\r"
                else f"control character U+{ord(control.group()):04X} in the line (binary junk?)"
            )
            self.error(what, line)
        if line.strip() == "":
            if self.previous_was_blank and not self.words:
                self.empty_sentences += 1
            self.previous_was_blank = True
            return self.finish()
        self.previous_was_blank = False
        if line.split()[0] == DOCSTART:
            self.docstarts += 1
            return self.finish()
        columns = line.split("\t")
        # Tolerate trailing whitespace after the tag, including trailing tabs.
        while len(columns) > 2 and columns[-1].strip() == "":
            columns.pop()
        if len(columns) == 1:
            self.error("no tab in the line (expected TOKEN<TAB>TAG)", line)
        if len(columns) > 2:
            self.error(f"{len(columns)} tab-separated columns (expected 2: TOKEN<TAB>TAG)", line)
        token, tag = columns[0], columns[1].rstrip()
        if token.strip() == "":
            self.error("empty token (or only whitespace)", line)
        if tag == "":
            self.error("empty tag", line)
        if not self.words:
            self.first_line = self.line_number
        self.words.append(token)
        self.tags.append(tag)
        return None

    def finish(self) -> Optional[IobSentence]:
        """Ends the sentence being read; returns it, if it has any token."""
        words, tags = self.words, self.tags
        if not words:
            return None
        try:
            validate_tags(tags, self.scheme)
        except TagSequenceError as error:
            raise IobFormatError(
                self.path,
                self.first_line + error.position,
                f"{error.message} (input_scheme is {self.scheme})",
                f"{words[error.position]}\t{tags[error.position]}",
            ) from None
        self.sentences += 1
        self.tokens += len(words)
        self.words, self.tags = [], []
        return IobSentence(words, tags, f"{self.path}:{self.first_line}")

    def error(self, problem: str, line: Optional[str]) -> NoReturn:
        raise IobFormatError(self.path, self.line_number, problem, line)


def read_iob_sentences(
    file_path: PathOrStr, scheme: str = "BIO", display_path: Optional[str] = None
) -> Iterator[IobSentence]:
    """Lazily reads the sentences of an IOB file, checking everything; see `IobTaggingReader`
    for the format, what is tolerated and what raises `IobFormatError`.

    ``file_path`` is opened as given (no `cached_path`); ``display_path`` (default
    ``file_path``) names the file in messages and ``source``. Logs one INFO line per file with
    the numbers of sentences, tokens, skipped empty sentences and ``-DOCSTART-`` lines.

    The file's bytes are read at once (corpora are megabytes) and decoded up to the first line
    that is not UTF-8 text; sentences are then parsed and yielded one by one, so errors come in
    file order, after the sentences before them. Runs of well-formed lines are split with
    `str` methods, other lines one by one.
    """
    scheme = normalize_scheme(scheme)
    path = str(file_path) if display_path is None else display_path
    parser = _Parser(path, scheme)
    with open(file_path, "rb") as data_file:
        text, late_error = _decode(data_file.read(), path)
    position, end_of_text = 0, len(text)
    while position < end_of_text:
        block = _PLAIN_BLOCK.match(text, position)
        if block is not None:
            lines = block.group()
            position = block.end()
            if DOCSTART not in lines and _LEADING_SPACE.search(lines) is None:
                if "\r" in lines:
                    lines = _strip_cr(lines.replace("\r\n", "\n"))
                fields = lines.replace("\n", "\t").split("\t")
                if len(fields) % 2:  # the block ends with a line end
                    fields.pop()
                parser.plain_lines(fields[0::2], fields[1::2])
                continue
            # Tokens to look at closely (a -DOCSTART- marker, leading whitespace): one by one.
            line_list = lines.split("\n")
            if lines.endswith("\n"):
                line_list.pop()
        else:
            line_end = text.find("\n", position)
            line_end = end_of_text if line_end < 0 else line_end
            line_list = [text[position:line_end]]
            position = line_end + 1
        for line in line_list:
            sentence = parser.line(line)
            if sentence is not None:
                yield sentence
    if late_error is not None:
        raise late_error
    sentence = parser.finish()
    if sentence is not None:
        yield sentence
    if parser.sentences == 0:
        lines_in_file = text.count("\n") + (0 if text.endswith("\n") else 1) if text else 0
        raise IobFormatError(
            path,
            max(lines_in_file, 1),
            "the file has no sentences"
            + (" (only blank or -DOCSTART- lines)" if text else " (it is empty)"),
        )
    logger.info(
        "Read %d sentences (%d tokens) from %s; skipped %d empty sentences and %d -DOCSTART- "
        "lines",
        parser.sentences,
        parser.tokens,
        path,
        parser.empty_sentences,
        parser.docstarts,
    )


@DatasetReader.register("bioner_iob")
class IobTaggingReader(DatasetReader):
    """
    Reads a biomedical NER corpus in IOB format: one token per line, ``TOKEN<TAB>TAG``, a blank
    line between sentences, UTF-8 (the format of the MTL-Bioinformatics-2016 corpora):

    ```
    Identification<TAB>O
    of<TAB>O
    adenomatous<TAB>B-Disease
    polyposis<TAB>I-Disease
    <blank line>
    ```

    Each sentence becomes an `Instance` with the fields

    - `tokens`: a `TextField` of the tokens, exactly as written (no lower-casing, no stripping);
    - `tags`: a `SequenceLabelField` of the tags in ``label_namespace``, re-coded from
      ``input_scheme`` to ``coding_scheme`` with ``type_map`` applied (only when tags are known);
    - `metadata`: a `MetadataField` with ``words`` (the tokens), ``gold_tags`` (the tags of the
      `tags` field, when known) and ``source`` (``"path:line"`` of the sentence's first token);
    - `task`: a `MetadataField` with the task name, when ``task`` is set.

    Tolerated (silently repaired): a UTF-8 byte-order mark, CRLF line ends, spaces and tabs after
    the tag, lines of only whitespace (sentence boundaries), ``-DOCSTART-`` lines (with or without
    a tag; skipped, and a sentence boundary), a missing final newline or blank line, and several
    blank lines in a row (the empty sentences are skipped and counted). Nothing is dropped: every
    token of the file is in exactly one instance, however long its sentence.

    Rejected with an `IobFormatError` (a `ValueError` whose message starts with ``path:line``
    and quotes the offending line): a line without a tab, more than two columns, an empty token
    or tag, an unknown tag prefix (``X-Foo``, ``B_Foo``) or an empty type (``B-``), a tag that
    ``input_scheme`` does not allow where it stands (e.g. ``I-Disease`` after ``O`` in BIO; the
    line is that of the offending tag), invalid UTF-8 (e.g. Latin-1 bytes), NUL bytes and other
    control characters, UTF-16 files, and a file without any sentence. Within a sentence, line
    errors are found before tag-sequence errors (the tags are checked when the sentence ends).
    Instances are made lazily: the error comes when the reader reaches the bad line, after the
    instances of the sentences before it. (The file's bytes are read into memory at once, then
    parsed sentence by sentence.)

    One INFO log line per file gives the numbers of sentences, tokens, skipped empty sentences
    and ``-DOCSTART-`` lines.

    Registered as a `DatasetReader` with name "bioner_iob".

    # Parameters

    token_indexers : `Dict[str, TokenIndexer]`, optional
        (default=`{"tokens": SingleIdTokenIndexer()}`)
        We use this to define the input representation for the text. See :class:`TokenIndexer`.
        The indexers are applied in `apply_token_indexers`, not in `text_to_instance`.
    input_scheme : `str`, optional (default=`"BIO"`)
        The tag scheme of the files: ``"IOB1"``, ``"BIO"`` (alias ``"IOB2"``), or ``"IOBES"``
        (B-/I-/E-/S-; the L-/U- letters of ``"BIOUL"`` are accepted too, and ``"BIOUL"`` is an
        equivalent name). Names are case-insensitive. Tags are checked against it.
    coding_scheme : `str`, optional (default=`"BIO"`)
        The scheme of the labels in the `tags` field: ``"BIO"`` or ``"BIOUL"``. Use the same
        value as the model's CRF constraints and span metric.
    type_map : `Dict[str, str]`, optional (default=`None`)
        Renames entity types, e.g. ``{"Simple_chemical": "Chemical", "CHEBI": "Chemical"}`` to
        give all datasets of a category one label set (MTL-XC). A type mapped to ``"O"`` has its
        entities dropped (their tokens are tagged ``O``): useful to keep one type of a multi-type
        corpus, e.g. ``{"Cell": "O", "Simple_chemical": "O"}``. Unmapped types are kept as they are.
    label_namespace : `str`, optional (default=`"labels"`)
        The vocabulary namespace of the tags. Give this or `groups`.
    task : `str`, optional (default=`None`)
        When set, every instance gets a `task` `MetadataField` holding this name: the field
        that AllenNLP's ``multitask`` dataset reader adds, so the two agree (inside that reader
        its name for the task wins).
    groups : `Dict[str, List[str]]`, optional (default=`None`)
        The model's task groups (its `groups` parameter, the same value); with `task`, the tags
        go to the namespace of the task's group (`hsl_bioner.data.task_groups`): the namespace
        of the CRF that learns them.
    **kwargs
        Passed to `DatasetReader` (e.g. ``max_instances``).
    """

    def __init__(
        self,
        token_indexers: Dict[str, TokenIndexer] = None,
        input_scheme: str = "BIO",
        coding_scheme: str = "BIO",
        type_map: Dict[str, str] = None,
        label_namespace: Optional[str] = None,
        task: Optional[str] = None,
        groups: Optional[Dict[str, List[str]]] = None,
        **kwargs,
    ) -> None:
        super().__init__(
            manual_distributed_sharding=True, manual_multiprocess_sharding=True, **kwargs
        )
        self._token_indexers = token_indexers or {"tokens": SingleIdTokenIndexer()}
        try:
            self.input_scheme = normalize_scheme(input_scheme)
            self.coding_scheme = normalize_scheme(coding_scheme)
            check_type_map(type_map)
        except ValueError as error:
            raise ConfigurationError(str(error)) from None
        if self.coding_scheme not in CODING_SCHEMES:
            raise ConfigurationError(
                f"coding_scheme must be one of {', '.join(CODING_SCHEMES)}, not {coding_scheme!r}."
            )
        if task is not None and (not isinstance(task, str) or not task):
            raise ConfigurationError(f"task must be a non-empty string, not {task!r}.")
        self.type_map = dict(type_map) if type_map else None
        if groups is not None:
            if task is None or label_namespace is not None:
                raise ConfigurationError(
                    "groups needs task, and replaces label_namespace (the namespace of the "
                    f"task's group): got task {task!r}, label_namespace {label_namespace!r}."
                )
            label_namespace = task_groups.label_namespace(task_groups.group_of(task, groups))
        self.label_namespace = label_namespace or "labels"
        self.task = task

    def _read(self, file_path: PathOrStr) -> Iterator[Instance]:
        # if `file_path` is a URL, redirect to the cache
        local_path = cached_path(file_path)
        logger.info("Reading instances from lines in file at: %s", file_path)
        sentences = read_iob_sentences(local_path, self.input_scheme, display_path=str(file_path))
        for sentence in self.shard_iterable(sentences):
            yield self.text_to_instance(sentence.words, sentence.tags, sentence.source)

    def text_to_instance(  # type: ignore
        self,
        words: Sequence[Union[str, Token]],
        tags: Optional[List[str]] = None,
        source: Optional[str] = None,
    ) -> Instance:
        """
        An instance from pre-tokenised words (strings; `Token`s are accepted too) and, optionally,
        their tags in ``input_scheme``, which are checked and re-coded to ``coding_scheme`` with
        ``type_map`` applied. ``source`` goes into the metadata when given. Raises `ValueError`
        for no words, an empty word, or tags of the wrong length, and `TagSequenceError` (a
        `ValueError`) for tags not valid in ``input_scheme``.
        """
        tokens = [word if isinstance(word, Token) else Token(word) for word in words]
        texts = [token.text for token in tokens]
        if not tokens:
            raise ValueError("An instance needs at least one word.")
        if any(not isinstance(text, str) or not text for text in texts):
            raise ValueError(f"Words must be non-empty strings: {texts!r}")
        text_field = TextField(tokens)
        fields: Dict[str, Field] = {"tokens": text_field}
        metadata: Dict[str, object] = {"words": texts}
        if tags is not None:
            if len(tags) != len(tokens):
                raise ValueError(f"{len(tags)} tags for {len(tokens)} words.")
            coded = convert(tags, self.input_scheme, self.coding_scheme, self.type_map)
            fields["tags"] = SequenceLabelField(coded, text_field, self.label_namespace)
            metadata["gold_tags"] = coded
        if source is not None:
            metadata["source"] = source
        fields["metadata"] = MetadataField(metadata)
        if self.task is not None:
            fields["task"] = MetadataField(self.task)
        return Instance(fields)

    def apply_token_indexers(self, instance: Instance) -> None:
        instance.fields["tokens"].token_indexers = self._token_indexers  # type: ignore
