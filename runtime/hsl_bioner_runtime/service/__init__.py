"""`bioner-serve`: a local tagging service and page on one exported folder (Starlette on uvicorn).

    bioner-serve DIR [--host 127.0.0.1] [--port 8000] [--threads N] [--batch-size 32]
                     [--max-batch 64] [--max-wait-ms 5] [--queue-size 256]
                     [--max-body-bytes 10000000] [--merge type]

Routes
------
``GET /``
    The tagging page (static HTML, CSS and JavaScript shipped in this package; nothing fetched
    from elsewhere): paste a text or upload a PubTator / BioC / text file, see the entities
    highlighted by type, toggle tasks, download the result in any output format.
``GET /health``
    ``{"status": "ok", "queue": {"waiting", "size"}, "max_batch", "max_wait", "max_body_bytes",
    "batching": {"calls", "requests", "documents", "sentences", "refused", "busy_seconds",
    "largest_call", "documents_per_call"}}``: the batching worker's counts since the start.
``GET /model``
    `Tagger.describe()`: tasks (with their types), groups, encoder, precision, versions.
``POST /tag``
    Tags the documents of the body and answers them in the output format, one output document
    per input document, in order.

The body of ``POST /tag``
-------------------------
Its format is the ``input_format`` query parameter, else the Content-Type's:

==========================  =====================  =========================================
``input_format``            Content-Type           body
==========================  =====================  =========================================
``json``                    application/json       ``{"text": "..."}``, ``{"texts": [...]}`` or
                                                   ``{"documents": [{"id", "text",
                                                   "passages"?, ...}]}``, optional ``"tasks"``
                                                   (list) and ``"merge"``
``text``                    text/plain             one raw text (UTF-8)
``jsonl``                   application/x-ndjson   one document per line (raw text or a JSON
                                                   object with ``text``), as `bioner-tag` reads
``pubtator``                text/x-pubtator        PubTator
``bioc-xml``                application/xml,       a BioC XML collection
                            text/xml
``bioc-json``               application/bioc+json  a BioC JSON collection
``auto``                    application/octet-     detected from the first bytes
                            stream                 (`detect_input_format`)
==========================  =====================  =========================================

Query parameters: ``format`` (the response: ``json``, JSON lines, one record per document, as
`bioner-tag --format json` writes them; ``conll``, ``pubtator``, ``bioc-xml``, ``bioc-json``;
default ``json``), ``tasks`` (comma-separated; default every task of the model), ``merge``
(``type``, ``exact``, ``none``; default the service's ``--merge``) and ``annotations``
(``true``: keep the annotations of a PubTator / BioC input in the output). ``tasks`` and
``merge`` may be given in a JSON body instead, not in both places. Documents without an id are
named by their number in the request (1, 2, ...) in CoNLL, PubTator and BioC.

Errors
------
Every refusal is JSON ``{"error": "<reason>", "status": <code>}``: 400 malformed JSON, an
unreadable PubTator / BioC / text body (the reason names its line), an unknown ``format``,
``input_format`` or query parameter; 413 a body over ``--max-body-bytes`` (refused as soon as
it is known, by its Content-Length or while reading, never read whole); 415 a Content-Type that
names no input format; 422 a JSON request of the wrong shape or types, an unknown task or merge
rule, passages that do not fit their text; 503 with ``Retry-After`` when ``--queue-size``
requests are already waiting; 404 / 405 unknown routes and methods.

Batching
--------
Concurrent requests are tagged together: their documents go into one tagger call (up to
``--max-batch`` documents; the worker waits at most ``--max-wait-ms`` for more once the queue
is empty), whose sentences share the encoder's batches (``--batch-size`` sentences each); see
`hsl_bioner_runtime.service.batching`. The tagger runs in a thread of its own, so the service
keeps answering (``/health``, refusals, the page) while it tags.

Modules: `app` (`create_app`, the routes), `inputs` (reading and checking a request),
`batching` (the queue and its worker), `cli` (`bioner-serve`), ``static/`` (the page).
"""
