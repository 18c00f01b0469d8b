"""The ASGI app of `bioner-serve` (the API: `hsl_bioner_runtime.service`).

`create_app` wraps one loaded `Tagger` in a Starlette app. The tagger always tags every task of
the model with the merge rule ``none``; each request's ``tasks`` and ``merge`` are applied to the
records afterwards (`record_for`), so that requests asking for different tasks or rules still
share one tagger call (`hsl_bioner_runtime.service.batching`).
"""
import asyncio
import contextlib
import logging
from bisect import bisect_right
from importlib import resources
from typing import Any, AsyncIterator, Dict, List, Mapping, Optional, Sequence

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from hsl_bioner_runtime.entities import MERGE_RULES, merge_entities
from hsl_bioner_runtime.formats.writers import document_writer
from hsl_bioner_runtime.service.batching import Batcher, QueueFull
from hsl_bioner_runtime.service.inputs import BadRequest, parse_request

MEDIA_TYPES: Dict[str, str] = {
    "json": "application/x-ndjson",
    "conll": "text/plain; charset=utf-8",
    "pubtator": "text/plain; charset=utf-8",
    "bioc-xml": "application/xml",
    "bioc-json": "application/json",
}
"""The Content-Type of a response in each output format."""

RETRY_AFTER_SECONDS = 1
"""The Retry-After of a 503 (queue full), in seconds: the queue moves on with every batch."""

_log = logging.getLogger(__name__)
_STATIC = resources.files("hsl_bioner_runtime.service") / "static"


def create_app(
    tagger: Any,
    max_batch: int = 64,
    max_wait: float = 0.005,
    queue_size: int = 256,
    max_body_bytes: int = 10_000_000,
    merge: str = "type",
) -> Starlette:
    """The service of one tagger.

    # Parameters

    tagger : `Tagger`
        Loaded with ``merge="none"`` (`Tagger.load(folder, merge="none")`): its `tasks` are
        what a request may ask for; its `tag_documents` runs in the batching worker's thread;
        its `describe` answers ``GET /model`` (with ``merge`` the service's default rule).
    max_batch : `int`, optional (default = `64`)
        Most documents tagged by one tagger call (see `Batcher`).
    max_wait : `float`, optional (default = `0.005`)
        Most seconds the worker waits for more requests to join a call.
    queue_size : `int`, optional (default = `256`)
        Most requests waiting; beyond it a request gets 503 with Retry-After.
    max_body_bytes : `int`, optional (default = `10_000_000`)
        Largest request body; a larger one gets 413 (checked while reading, never read whole).
    merge : `str`, optional (default = `"type"`)
        The merge rule of a request that gives none (`hsl_bioner_runtime.entities.MERGE_RULES`).
    """
    if merge not in MERGE_RULES:
        raise ValueError(f"merge must be one of {', '.join(MERGE_RULES)}, got {merge!r}.")
    if max_body_bytes < 1:
        raise ValueError(f"max_body_bytes must be at least 1, got {max_body_bytes}.")
    if tagger.merge != "none":
        # Its records would have lost the entities that other merge rules keep.
        raise ValueError(
            f"the service's tagger must be loaded with merge='none', not {tagger.merge!r}: "
            "each request's rule is applied to its records"
        )
    tasks = list(tagger.tasks)
    batcher = Batcher(tagger.tag_documents, max_batch, max_wait, queue_size)
    description = {**tagger.describe(), "merge": merge}

    async def tag(request: Request) -> Response:
        try:
            body = await _read_body(request, max_body_bytes)
            asked = parse_request(
                body, request.headers.get("content-type"), request.query_params, tasks
            )
        except BadRequest as refusal:
            return _error(refusal.status, refusal.message)
        except ClientDisconnect:
            return Response(status_code=400)  # nobody reads it
        try:
            records = await batcher.tag(asked.documents)
        except QueueFull:
            return _error(
                503,
                f"the service is busy ({batcher.queue_size} requests waiting): retry shortly",
                {"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        except ValueError as error:  # a document the tagger refuses
            return _error(422, str(error))
        # Merging and writing cost as much as the entities are many: off the event loop.
        written = await asyncio.to_thread(
            _written, records, tasks, asked.tasks or tasks, asked.merge or merge,
            asked.output_format,
        )
        return Response(written, media_type=MEDIA_TYPES[asked.output_format])

    async def health(request: Request) -> Response:
        return JSONResponse(
            {
                "status": "ok",
                "queue": {"waiting": batcher.waiting, "size": batcher.queue_size},
                "max_batch": batcher.max_batch,
                "max_wait": batcher.max_wait,
                "max_body_bytes": max_body_bytes,
                "batching": batcher.stats.to_json(),
            }
        )

    async def model(request: Request) -> Response:
        return JSONResponse(description)

    async def page(request: Request) -> Response:
        return FileResponse(str(_STATIC / "index.html"))

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        return _error(error.status_code, str(error.detail), error.headers)

    async def server_error(request: Request, error: Exception) -> Response:
        _log.exception("internal error on %s %s", request.method, request.url.path)
        return _error(500, f"internal error: {type(error).__name__}: {error}")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await batcher.start()
        try:
            yield
        finally:
            await batcher.stop()

    app = Starlette(
        routes=[
            Route("/", page, methods=["GET"]),
            Route("/tag", tag, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/model", model, methods=["GET"]),
            Mount("/static", StaticFiles(directory=str(_STATIC)), name="static"),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )
    app.state.batcher = batcher
    return app


def record_for(
    record: Mapping[str, Any], model_tasks: Sequence[str], tasks: Sequence[str], merge: str
) -> Dict[str, Any]:
    """The record that a tagger of `tasks` with the `merge` rule gives, from the record of a
    tagger of `model_tasks` (in its order) with the rule ``none``: the other tasks' entities and
    tags left out, the rest merged as the tagger merges them (entities in sentence, then task,
    then span order, as `hsl_bioner_runtime.entities.document_record` gathers them, so that ties
    break alike)."""
    keep = set(tasks)
    position = {task: i for i, task in enumerate(model_tasks)}
    starts = [sentence["start"] for sentence in record["sentences"]]
    entities = sorted(
        (entity for entity in record["entities"] if entity["task"] in keep),
        key=lambda e: (bisect_right(starts, e["start"]), position[e["task"]], e["start"]),
    )
    sentences: List[Dict[str, Any]] = [
        {**sentence, "tags": {t: tags for t, tags in sentence["tags"].items() if t in keep}}
        for sentence in record["sentences"]
    ]
    return {**record, "entities": merge_entities(entities, merge), "sentences": sentences}


def _written(
    records: Sequence[Mapping[str, Any]], model_tasks: Sequence[str], tasks: Sequence[str],
    merge: str, output_format: str,
) -> str:
    """The answer: the records of `tasks` merged by `merge` (`record_for`), in `output_format`;
    a record without an id is named by its number in the request."""
    writer = document_writer(output_format)
    pieces = [writer.header()]
    for number, record in enumerate(records, start=1):
        pieces.append(writer.document(record_for(record, model_tasks, tasks, merge), number))
    pieces.append(writer.footer())
    return "".join(pieces)


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it exceeds `limit` bytes (by its Content-Length
    before reading, else while reading)."""
    too_large = BadRequest(413, f"the body is larger than the limit of {limit} bytes")
    length: Optional[str] = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _error(status: int, message: str, headers: Optional[Mapping[str, str]] = None) -> Response:
    return JSONResponse({"error": message, "status": status}, status_code=status, headers=headers)
