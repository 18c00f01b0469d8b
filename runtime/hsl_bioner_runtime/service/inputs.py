"""What a ``POST /tag`` asks for: its documents, from a JSON request or a document file, and
its options (tasks, merge rule, output format), each checked, with the reason of a refusal.

`BadRequest` carries the HTTP status of a refusal: 400 when the body or a parameter cannot be
read at all (malformed JSON, an unreadable PubTator or BioC file, an unknown format or
parameter), 415 for a content type that names no input format, 422 when a readable JSON request
has the wrong shape, types or values (a missing text, a number where a string belongs, an
unknown task or merge rule, passages that do not fit their text).
"""
import io
import json
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from hsl_bioner_runtime.entities import MERGE_RULES
from hsl_bioner_runtime.formats.documents import DOCUMENT_FORMATS, Document, DocumentError
from hsl_bioner_runtime.formats.lines import decode_line, load_line
from hsl_bioner_runtime.formats.readers import HEAD_BYTES, detect_input_format, read_documents
from hsl_bioner_runtime.formats.writers import OUTPUT_FORMATS

BODY_FORMATS: Tuple[str, ...] = ("json", "text", "jsonl") + DOCUMENT_FORMATS
"""The values of ``input_format``: ``json`` (a JSON request: ``text``, ``texts`` or
``documents``), ``text`` (the body is one raw text), ``jsonl`` (one document per line, as
`bioner-tag` reads: raw text, or a JSON object with ``text``), the document files, or ``auto``
(`hsl_bioner_runtime.formats.readers.detect_input_format`)."""

CONTENT_TYPES: Dict[str, str] = {
    "application/json": "json",
    "text/plain": "text",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "text/x-pubtator": "pubtator",
    "application/xml": "bioc-xml",
    "text/xml": "bioc-xml",
    "application/bioc+xml": "bioc-xml",
    "application/bioc+json": "bioc-json",
    "application/octet-stream": "auto",
}
"""The input format of a body by its Content-Type (without parameters such as ``charset``);
an ``input_format`` query parameter overrides it."""

QUERY_PARAMETERS: Tuple[str, ...] = ("format", "input_format", "tasks", "merge", "annotations")
"""The query parameters of ``POST /tag``."""

JSON_KEYS: Tuple[str, ...] = ("text", "texts", "documents", "tasks", "merge")
"""The keys of a JSON request."""

# How a document body is named in the readers' error messages.
BODY_NAME = "body"


class BadRequest(Exception):
    """A request the service refuses: `status` (400, 413, 415 or 422) and the reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class TagRequest:
    """A checked ``POST /tag``: the tagger's input `documents` (``Document.to_json``'s shape),
    the `tasks` asked for (None: every task of the model), the `merge` rule (None: the
    service's default) and the `output_format` (one of `OUTPUT_FORMATS`)."""

    documents: List[Dict[str, Any]]
    tasks: Optional[List[str]]
    merge: Optional[str]
    output_format: str


def parse_request(
    body: bytes, content_type: Optional[str], query: Mapping[str, str], tasks: Sequence[str]
) -> TagRequest:
    """The `TagRequest` of a body, its Content-Type and its query parameters; `tasks` are the
    model's (a task asked for must be one of them). Raises `BadRequest`."""
    unknown = sorted(set(query) - set(QUERY_PARAMETERS))
    if unknown:
        raise BadRequest(
            400,
            f"unknown query parameter {unknown[0]!r}; the parameters are "
            f"{', '.join(QUERY_PARAMETERS)}",
        )
    output_format = query.get("format", "json")
    if output_format not in OUTPUT_FORMATS:
        raise BadRequest(
            400,
            f"unknown format {output_format!r}; the formats are {', '.join(OUTPUT_FORMATS)}",
        )
    input_format = _input_format(query.get("input_format"), content_type)
    if input_format == "auto":
        input_format = detect_input_format(body[:HEAD_BYTES])
    task_list = _tasks(query["tasks"].split(","), tasks) if "tasks" in query else None
    merge = _merge(query["merge"]) if "merge" in query else None
    if input_format == "json":
        documents, json_tasks, json_merge = _json_request(body, tasks)
        for name, from_query, from_body in (
            ("tasks", task_list, json_tasks),
            ("merge", merge, json_merge),
        ):
            if from_query is not None and from_body is not None:
                raise BadRequest(
                    400, f"{name!r} is given both in the query and in the body: give it once"
                )
        task_list = task_list if json_tasks is None else json_tasks
        merge = merge if json_merge is None else json_merge
    else:
        keep = _flag(query.get("annotations", "false"), "annotations")
        documents = _file_documents(body, input_format, keep)
    return TagRequest(documents, task_list, merge, output_format)


def _input_format(parameter: Optional[str], content_type: Optional[str]) -> str:
    if parameter is not None:
        if parameter not in BODY_FORMATS + ("auto",):
            raise BadRequest(
                400,
                f"unknown input_format {parameter!r}; the input formats are "
                f"{', '.join(BODY_FORMATS)} and auto",
            )
        return parameter
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type not in CONTENT_TYPES:
        raise BadRequest(
            415,
            f"unsupported Content-Type {content_type or '(none)'!r}: send application/json, "
            f"or a file as one of {', '.join(sorted(CONTENT_TYPES))}, or name its format with "
            f"?input_format= ({', '.join(BODY_FORMATS)}, auto)",
        )
    return CONTENT_TYPES[media_type]


def _json_request(
    body: bytes, tasks: Sequence[str]
) -> Tuple[List[Dict[str, Any]], Optional[List[str]], Optional[str]]:
    try:
        value = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise BadRequest(400, f"malformed JSON: the body is not UTF-8 ({error.reason} at byte "
                              f"{error.start + 1})") from None
    except json.JSONDecodeError as error:
        raise BadRequest(400, f"malformed JSON: {error}") from None
    if not isinstance(value, dict):
        raise BadRequest(
            422, f"a JSON request is an object with 'text', 'texts' or 'documents', got "
                 f"{_kind(value)}"
        )
    unknown = sorted(set(value) - set(JSON_KEYS))
    if unknown:
        raise BadRequest(
            422, f"unknown key {unknown[0]!r}; the keys are {', '.join(JSON_KEYS)}"
        )
    given = [key for key in ("text", "texts", "documents") if key in value]
    if len(given) != 1:
        raise BadRequest(
            422,
            "a JSON request has exactly one of 'text', 'texts' and 'documents', got "
            + (", ".join(repr(key) for key in given) or "none"),
        )
    key = given[0]
    if key == "text":
        documents = [{"text": _string(value["text"], "'text'")}]
    elif key == "texts":
        documents = [
            {"text": _string(text, f"texts[{i}]")} for i, text in enumerate(_list(value, key))
        ]
    else:
        documents = [_json_document(item, i) for i, item in enumerate(_list(value, key))]
    task_list = None
    if value.get("tasks") is not None:
        task_list = _tasks(_list(value, "tasks"), tasks)
    merge = None if value.get("merge") is None else _merge(value["merge"])
    return documents, task_list, merge


def _json_document(item: Any, i: int) -> Dict[str, Any]:
    where = f"documents[{i}]"
    if not isinstance(item, dict):
        raise BadRequest(422, f"{where} must be an object with a 'text', got {_kind(item)}")
    _string(item.get("text"), f"{where}.text")
    doc_id = item.get("id")
    if doc_id is not None and (isinstance(doc_id, bool) or not isinstance(doc_id, (str, int))):
        raise BadRequest(422, f"{where}.id must be a string or an integer, got {_kind(doc_id)}")
    try:
        Document.from_json(item, annotations=True)
    except DocumentError as error:
        raise BadRequest(422, f"{where}: {error}") from None
    return item


def _file_documents(body: bytes, input_format: str, keep: bool) -> List[Dict[str, Any]]:
    try:
        if input_format == "text":
            return [{"text": body.decode("utf-8")}]
        if input_format == "jsonl":
            return _lines(body)
        documents = read_documents(io.BytesIO(body), input_format, BODY_NAME, keep)
        return [document.to_json() for document in documents]
    except UnicodeDecodeError as error:
        raise BadRequest(
            400, f"the body is not UTF-8 ({error.reason} at byte {error.start + 1})"
        ) from None
    except ValueError as error:  # DocumentError included
        raise BadRequest(400, f"unreadable {input_format} body: {error}") from None


def _lines(body: bytes) -> List[Dict[str, Any]]:
    """One document per line of the body (the last line needs no line end), as `bioner-tag`
    reads ``jsonl``."""
    raw_lines = body.split(b"\n")
    if raw_lines[-1] == b"":
        raw_lines.pop()
    documents = []
    for number, raw in enumerate(raw_lines, start=1):
        try:
            document = load_line(decode_line(raw + b"\n", number))
            Document.from_json(document)
        except ValueError as error:
            raise ValueError(f"line {number}: {error}") from None
        documents.append(document)
    return documents


def _tasks(value: List[Any], tasks: Sequence[str]) -> List[str]:
    asked = []
    for i, task in enumerate(value):
        if not isinstance(task, str):
            raise BadRequest(422, f"tasks[{i}] must be a task name, got {_kind(task)}")
        if task not in tasks:
            raise BadRequest(
                422, f"unknown task {task!r}; the model's tasks are {', '.join(tasks)}"
            )
        if task not in asked:
            asked.append(task)
    if not asked:
        raise BadRequest(422, f"'tasks' is empty; the model's tasks are {', '.join(tasks)}")
    return asked


def _merge(value: Any) -> str:
    if value not in MERGE_RULES:
        raise BadRequest(
            422, f"unknown merge rule {value!r}; the rules are {', '.join(MERGE_RULES)}"
        )
    return value


def _flag(value: str, name: str) -> bool:
    if value not in ("true", "false", "1", "0"):
        raise BadRequest(400, f"{name} is true or false, got {value!r}")
    return value in ("true", "1")


def _list(value: Mapping[str, Any], key: str) -> List[Any]:
    if not isinstance(value[key], list):
        raise BadRequest(422, f"{key!r} must be a list, got {_kind(value[key])}")
    return value[key]


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise BadRequest(422, f"{where} must be a string, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    """A JSON value's type and a short quote of it."""
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
             int: "a number", float: "a number", type(None): "null"}
    return f"{names.get(type(value), type(value).__name__)} ({json.dumps(value)[:40]})"
