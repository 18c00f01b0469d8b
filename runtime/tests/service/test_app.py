"""The routes of the service (on a `RuleTagger`, see conftest.py): every input and output format,
the options, and every refusal (a JSON reason, never a 500, the service up after a burst)."""
import asyncio
import io
import json

import pytest

from hsl_bioner_runtime.entities import MERGE_RULES
from hsl_bioner_runtime.formats.readers import read_documents
from hsl_bioner_runtime.formats.writers import OUTPUT_FORMATS, document_writer
from hsl_bioner_runtime.service.app import create_app, record_for

TEXT = "BRCA1 mutations cause breast cancer. Down syndrome patients got cocaine."
PUBTATOR = (
    "111|t|BRCA1 and breast cancer\n"
    "111|a|Down syndrome and cocaine.\n"
    "111\t10\t23\tbreast cancer\tDisease\tD001943\n"
    "\n"
    "222|t|No entity here\n"
    "222|a|\n"
    "\n"
)
BIOC_XML = (
    "<?xml version='1.0' encoding='UTF-8'?><collection><source>s</source><date>d</date><key/>"
    "<document><id>9</id>"
    "<passage><offset>0</offset><text>BRCA1 and breast cancer</text></passage>"
    "<passage><offset>30</offset><text>Down syndrome.</text></passage>"
    "</document></collection>"
)
BIOC_JSON = json.dumps(
    {"source": "s", "date": "d", "key": "", "infons": {}, "documents": [
        {"id": "7", "infons": {}, "relations": [], "annotations": [],
         "passages": [{"offset": 0, "infons": {}, "text": "Tumour of BRCA2 carriers",
                       "sentences": [], "annotations": [], "relations": []}]}
    ]}
)


def records_of(response):
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.splitlines()]


def direct(rule_tagger_class, documents, **options):
    """What a tagger loaded with `options` (tasks, merge) gives for `documents`."""
    return rule_tagger_class(**{"merge": "type", **options}).tag_documents(documents)


def test_text_texts_and_documents_give_the_taggers_records(client, rule_tagger_class):
    (record,) = records_of(client.post("/tag", json={"text": TEXT}))
    assert record == direct(rule_tagger_class, [{"text": TEXT}])[0]
    assert [(e["text"], e["type"]) for e in record["entities"]] == [
        ("BRCA1", "Gene"), ("breast cancer", "Disease"), ("Down syndrome", "Disease"),
        ("cocaine", "Chemical"),
    ]
    texts = [TEXT, "", "nothing"]
    assert records_of(client.post("/tag", json={"texts": texts})) == direct(
        rule_tagger_class, [{"text": t} for t in texts]
    )
    documents = [
        {"id": "A", "text": "Title cancer Abstract", "extra": [1],
         "passages": [{"offset": 0, "text": "Title cancer"}, {"offset": 13, "text": "Abstract"}]},
        {"id": 5, "text": "BRCA1"},
    ]
    assert records_of(client.post("/tag", json={"documents": documents})) == direct(
        rule_tagger_class, documents
    )


@pytest.mark.parametrize("merge", MERGE_RULES)
@pytest.mark.parametrize("tasks", [None, ["gene"], ["gene", "disease"], ["chemical", "disease"]])
def test_tasks_and_merge_are_those_of_a_tagger_loaded_with_them(
    client, rule_tagger_class, tasks, merge
):
    request = {"texts": [TEXT, "Down syndrome"], "merge": merge}
    if tasks is not None:
        request["tasks"] = tasks
    expected = direct(
        rule_tagger_class,
        [{"text": TEXT}, {"text": "Down syndrome"}],
        merge=merge,
        # A tagger runs its tasks in the model's order, whatever order they are asked in.
        tasks=None if tasks is None else [t for t in rule_tagger_class.TASKS if t in tasks],
    )
    assert records_of(client.post("/tag", json=request)) == expected
    query = {"merge": merge, **({"tasks": ",".join(tasks)} if tasks else {})}
    assert records_of(client.post("/tag", params=query, json={"texts": [TEXT, "Down syndrome"]})) \
        == expected


def test_record_for_every_rule_is_the_taggers_record(rule_tagger_class):
    # "Down" is a Disease of the gene task inside the disease task's "Down syndrome".
    documents = [{"text": "Down syndrome. Down syndrome."}]
    none = rule_tagger_class().tag_documents(documents)[0]
    for merge in MERGE_RULES:
        assert record_for(none, rule_tagger_class.TASKS, rule_tagger_class.TASKS, merge) == (
            rule_tagger_class(merge=merge).tag_documents(documents)[0]
        )


@pytest.mark.parametrize("output_format", OUTPUT_FORMATS)
def test_every_output_format_is_the_writers(client, rule_tagger_class, output_format):
    response = client.post("/tag", params={"format": output_format}, json={"texts": [TEXT, "x"]})
    assert response.status_code == 200
    writer = document_writer(output_format)
    records = direct(rule_tagger_class, [{"text": TEXT}, {"text": "x"}])
    expected = writer.header() + "".join(
        writer.document(r, i) for i, r in enumerate(records, start=1)
    ) + writer.footer()
    if output_format.startswith("bioc"):  # the collection's date is the day it is written
        assert response.text.split("\n", 3)[3:] == expected.split("\n", 3)[3:]
    else:
        assert response.text == expected


def test_pubtator_in_pubtator_out_keeps_ids_texts_and_offsets(client):
    response = client.post(
        "/tag", params={"format": "pubtator"}, content=PUBTATOR,
        headers={"content-type": "text/x-pubtator"},
    )
    assert response.status_code == 200, response.text
    documents = list(read_documents(io.BytesIO(response.content), "pubtator", "out", True))
    assert [d.id for d in documents] == ["111", "222"]
    assert documents[0].text == "BRCA1 and breast cancer Down syndrome and cocaine."
    assert [(a.text, a.type, a.start) for a in documents[0].annotations] == [
        ("BRCA1", "Gene", 0), ("breast cancer", "Disease", 10), ("Down syndrome", "Disease", 24),
        ("cocaine", "Chemical", 42),
    ]
    assert documents[1].annotations == ()


@pytest.mark.parametrize(
    "body, headers, params, ids",
    [
        (BIOC_XML, {"content-type": "application/xml"}, {}, ["9"]),
        (BIOC_XML, {"content-type": "text/plain"}, {"input_format": "bioc-xml"}, ["9"]),
        (BIOC_JSON, {"content-type": "application/bioc+json"}, {}, ["7"]),
        (BIOC_JSON, {"content-type": "application/octet-stream"}, {}, ["7"]),
        (PUBTATOR, {"content-type": "application/octet-stream"}, {}, ["111", "222"]),
        (PUBTATOR, {"content-type": "application/json"}, {"input_format": "auto"}, ["111", "222"]),
        ("one\n{\"id\": \"j\", \"text\": \"BRCA1\"}\n", {"content-type": "application/x-ndjson"},
         {}, [None, "j"]),
        ("a raw text\nof two lines", {"content-type": "text/plain; charset=utf-8"}, {}, [None]),
    ],
)
def test_document_bodies_by_content_type_or_input_format(client, body, headers, params, ids):
    records = records_of(client.post("/tag", params=params, content=body, headers=headers))
    assert [r.get("id") for r in records] == ids


def test_bioc_passages_are_carried_through(client):
    (record,) = records_of(client.post("/tag", content=BIOC_XML,
                                       headers={"content-type": "text/xml"}))
    assert record["text"] == "BRCA1 and breast cancer       Down syndrome."
    assert [p["offset"] for p in record["passages"]] == [0, 30]
    assert [(e["text"], e["start"]) for e in record["entities"]] == [
        ("BRCA1", 0), ("breast cancer", 10), ("Down syndrome", 30)
    ]
    response = client.post("/tag", params={"format": "bioc-xml"}, content=BIOC_XML,
                           headers={"content-type": "text/xml"})
    assert '<passage><offset>30</offset><text>Down syndrome.</text>' in response.text


def test_annotations_of_the_input_are_kept_on_request(client):
    params = {"format": "bioc-json", "annotations": "true"}
    kept = client.post("/tag", params=params, content=PUBTATOR,
                       headers={"content-type": "text/x-pubtator"})
    assert '"identifier": "D001943"' in kept.text
    params["annotations"] = "false"
    dropped = client.post("/tag", params=params, content=PUBTATOR,
                          headers={"content-type": "text/x-pubtator"})
    assert "D001943" not in dropped.text


def test_no_documents_is_an_empty_answer(client):
    assert client.post("/tag", json={"texts": []}).text == ""
    response = client.post("/tag", params={"format": "bioc-json"}, json={"documents": []})
    assert json.loads(response.text)["documents"] == []


def test_health_model_and_page(client, rule_tagger):
    client.post("/tag", json={"texts": ["a", "b"]})
    health = client.get("/health").json()
    assert health["status"] == "ok"
    assert health["queue"] == {"waiting": 0, "size": 256}
    assert health["batching"]["documents"] == 2
    assert client.get("/model").json() == {**rule_tagger.describe(), "merge": "type"}
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert 'src="static/page.js"' in page.text
    for asset in ("page.js", "page.css"):
        assert client.get(f"/static/{asset}").status_code == 200


JSON = {"content-type": "application/json"}
REFUSED = [
    # (status, body, headers, query, words of the reason)
    (400, b'{"text": ', JSON, {}, "malformed JSON"),
    (400, b'\xff{"text": "a"}', JSON, {}, "not UTF-8"),
    (400, b'{"text": "a"}', JSON, {"format": "xml"}, "unknown format 'xml'"),
    (400, b'{"text": "a"}', JSON, {"input_format": "csv"}, "unknown input_format 'csv'"),
    (400, b'{"text": "a"}', JSON, {"fromat": "json"}, "unknown query parameter 'fromat'"),
    (400, b'{"text": "a", "merge": "type"}', JSON, {"merge": "none"}, "both in the query"),
    (400, b"x", {"content-type": "text/plain"}, {"annotations": "yes"}, "true or false"),
    (400, b"111|t|T\n111|x|bad\n", {"content-type": "text/x-pubtator"}, {}, "body:2:"),
    (400, b"<collection><document>", {"content-type": "text/xml"}, {}, "unreadable bioc-xml"),
    (400, b'{"documents": 3}', {"content-type": "application/bioc+json"}, {}, "bioc-json"),
    (400, b"\xff\xfe", {"content-type": "text/plain"}, {}, "not UTF-8"),
    (400, b'{"text": 1}\n', {"content-type": "application/x-ndjson"}, {}, "line 1"),
    (415, b"x", {"content-type": "image/png"}, {}, "unsupported Content-Type 'image/png'"),
    (415, b"x", {"content-type": ""}, {}, "unsupported Content-Type"),
    (422, b"[1, 2]", JSON, {}, "is an object"),
    (422, b'{"txt": "a"}', JSON, {}, "unknown key 'txt'"),
    (422, b'{"text": "a", "texts": ["b"]}', JSON, {}, "exactly one"),
    (422, b"{}", JSON, {}, "exactly one"),
    (422, b'{"text": 5}', JSON, {}, "'text' must be a string"),
    (422, b'{"texts": "a"}', JSON, {}, "'texts' must be a list"),
    (422, b'{"texts": ["a", null]}', JSON, {}, "texts[1] must be a string"),
    (422, b'{"documents": ["a"]}', JSON, {}, "documents[0] must be an object"),
    (422, b'{"documents": [{"id": "x"}]}', JSON, {}, "documents[0].text must be a string"),
    (422, b'{"documents": [{"text": "a", "id": true}]}', JSON, {}, "documents[0].id"),
    (422, b'{"documents": [{"text": "ab", "passages": [{"offset": 1, "text": "a"}]}]}', JSON,
     {}, "documents[0]: document None, passage 0"),
    (422, b'{"text": "a", "tasks": ["gene", "protein"]}', JSON, {}, "unknown task 'protein'"),
    (422, b'{"text": "a", "tasks": "gene"}', JSON, {}, "'tasks' must be a list"),
    (422, b'{"text": "a", "tasks": []}', JSON, {}, "'tasks' is empty"),
    (422, b'{"text": "a"}', JSON, {"tasks": "gene,"}, "unknown task ''"),
    (422, b'{"text": "a", "merge": "union"}', JSON, {}, "unknown merge rule 'union'"),
]


@pytest.mark.parametrize("status, body, headers, query, reason", REFUSED)
def test_bad_requests_get_a_4xx_with_the_reason(client, status, body, headers, query, reason):
    response = client.post("/tag", content=body, headers=headers, params=query)
    assert response.status_code == status, response.text
    assert response.json()["status"] == status
    assert reason in response.json()["error"]


def test_a_body_over_the_limit_is_refused_by_length_or_while_read(client, rule_tagger):
    big = json.dumps({"text": "cancer " * 1000}).encode()
    response = client.post("/tag", content=big, headers=JSON)
    assert response.status_code == 413
    assert "limit of 4096 bytes" in response.json()["error"]

    # An endless body without Content-Length: refused once the limit is passed, after reading
    # five chunks of 1000 bytes (the app called as ASGI: a test client would read it all first).
    pulled = []

    async def receive():
        pulled.append(1)
        return {"type": "http.request", "body": b" " * 1000, "more_body": True}

    sent = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/tag", "query_string": b"",
             "headers": [(b"content-type", b"application/json")], "http_version": "1.1",
             "scheme": "http", "server": ("test", 80), "client": ("test", 1), "root_path": ""}
    asyncio.run(client.app(scope, receive, send))
    assert sent[0]["status"] == 413 and len(pulled) == 5
    assert rule_tagger.calls == []


def test_the_tagger_must_keep_every_entity(rule_tagger_class):
    with pytest.raises(ValueError, match="merge='none', not 'type'"):
        create_app(rule_tagger_class(merge="type"))


def test_unknown_routes_and_methods_are_json(client):
    for response, status in ((client.get("/nowhere"), 404), (client.get("/tag"), 405),
                             (client.post("/health"), 405)):
        assert response.status_code == status
        assert response.json()["status"] == status


def test_the_service_stays_up_after_a_burst_of_bad_requests(client, rule_tagger_class):
    for status, body, headers, query, _ in REFUSED * 3:
        assert client.post("/tag", content=body, headers=headers, params=query).status_code \
            == status
    (record,) = records_of(client.post("/tag", json={"text": TEXT}))
    assert record == direct(rule_tagger_class, [{"text": TEXT}])[0]
    assert client.get("/health").json()["status"] == "ok"
