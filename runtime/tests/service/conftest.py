"""Fixtures of the service's tests: `RuleTagger`, a stand-in for `Tagger` (the same records, from
`document_record`, its entities found by rules instead of ONNX graphs, so that a test controls
exactly when a call ends and sees every call), and the service of one."""
import contextlib
import socket
import threading
import time
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence

import pytest
import uvicorn
from starlette.testclient import TestClient

from hsl_bioner_runtime.entities import document_record
from hsl_bioner_runtime.formats.documents import document_sentences
from hsl_bioner_runtime.service.app import create_app
from hsl_bioner_runtime.text import TextTokenizer

DISEASE_WORDS = {"cancer", "disease", "tumour", "tumor", "syndrome"}


class RuleTagger:
    """Task ``disease``: a word of `DISEASE_WORDS` and the word before it (``breast cancer``);
    task ``gene``: a word of capitals and digits with a digit (``BRCA1``), and a capitalised
    word before "syndrome" as a Disease (``Down`` of ``Down syndrome``: a Disease of two tasks
    overlapping, so that merge rules matter); task ``chemical``: a word ending in ``-ine``.

    # Parameters

    tasks : `Sequence[str]`, optional (default = every task, in `TASKS` order)
        The tasks tagged, in this order (as `Tagger.load(tasks=...)`).
    merge : `str`, optional (default = `"none"`)
        The merge rule of the records (as `Tagger.load(merge=...)`).
    gate : `threading.Event`, optional
        When given, every call waits for it to be set before tagging.
    """

    TASKS = ("disease", "gene", "chemical")

    def __init__(
        self,
        tasks: Optional[Sequence[str]] = None,
        merge: str = "none",
        gate: Optional[threading.Event] = None,
    ) -> None:
        self.tasks = tuple(tasks or self.TASKS)
        self.merge = merge
        self.gate = gate
        self.calls: List[int] = []  # documents per call
        self.started = threading.Event()
        self._tokenizer = TextTokenizer()

    def tag_documents(self, documents: Sequence[Mapping[str, Any]]) -> List[Dict[str, Any]]:
        self.started.set()
        if self.gate is not None:
            self.gate.wait(10)
        self.calls.append(len(documents))
        records = []
        for document in documents:
            sentences = document_sentences(self._tokenizer, document)
            tagged = [self._tag_sentence([t.text for t in tokens]) for tokens in sentences]
            records.append(document_record(document, sentences, tagged, "BIO", self.merge))
        return records

    def describe(self) -> Dict[str, Any]:
        types = {"disease": ["Disease"], "gene": ["Gene", "Disease"], "chemical": ["Chemical"]}
        return {
            "tasks": {task: {"group": task, "types": types[task]} for task in self.TASKS},
            "selected": list(self.tasks),
            "encoder": {"family": "rules", "name": "rule-tagger"},
            "precision": "fp32",
            "versions": {},
        }

    def _tag_sentence(self, words: List[str]) -> Dict[str, Any]:
        n = len(words)
        disease, gene, chemical = ["O"] * n, ["O"] * n, ["O"] * n
        for i, word in enumerate(words):
            if word.lower() in DISEASE_WORDS:
                if i > 0 and words[i - 1].isalpha():
                    disease[i - 1], disease[i] = "B-Disease", "I-Disease"
                else:
                    disease[i] = "B-Disease"
            if any(c.isdigit() for c in word) and word.isalnum() and word.upper() == word:
                if not word.isdigit():
                    gene[i] = "B-Gene"
            if word.lower().endswith("ine") and len(word) > 4:
                chemical[i] = "B-Chemical"
        # The gene task also calls a capitalised word before "syndrome" a Disease (one word),
        # overlapping the disease task's two-word mention with another score.
        for i in range(1, n):
            if words[i].lower() == "syndrome" and words[i - 1][:1].isupper():
                gene[i - 1] = "B-Disease"
        found = {
            "disease": (disease, [0.9] * n),
            "gene": (gene, [0.8] * n),
            "chemical": (chemical, [0.7] * n),
        }
        return {task: found[task] for task in self.tasks}


@pytest.fixture
def rule_tagger_class():
    """`RuleTagger`, for tests that build their own (test modules cannot import conftest)."""
    return RuleTagger


@pytest.fixture
def serve():
    """Builds the service of a tagger (keyword arguments: `create_app`'s) and opens a
    `TestClient` on it (its lifespan, so the batching worker, runs): ``serve(tagger, **kw)``."""
    with contextlib.ExitStack() as stack:

        def open_client(tagger, **settings):
            app = create_app(tagger, **settings)
            return stack.enter_context(TestClient(app))

        yield open_client


@pytest.fixture
def rule_tagger() -> RuleTagger:
    return RuleTagger()


@pytest.fixture
def client(serve, rule_tagger):
    """The service of `rule_tagger` (fast, no ONNX), body limit 4096 bytes."""
    return serve(rule_tagger, max_body_bytes=4096)


@contextlib.contextmanager
def live_server(app) -> Iterator[str]:
    """`app` served by uvicorn on a free port of 127.0.0.1 in a thread: yields its URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def serve_live():
    """Serves a tagger over HTTP (keyword arguments: `create_app`'s): ``serve_live(tagger)``
    gives the URL."""
    with contextlib.ExitStack() as stack:

        def open_server(tagger, **settings):
            return stack.enter_context(live_server(create_app(tagger, **settings)))

        yield open_server
