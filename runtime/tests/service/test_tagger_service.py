"""The service on the runtime's real `Tagger` (the test folder of `folders.make_folder`): its
answers are the records of a tagger loaded with the request's tasks and merge rule."""
import json

import pytest

from hsl_bioner_runtime.tagger import Tagger

TEXTS = [
    "Mutations in BRCA1 cause hereditary breast cancer. Patients with Down syndrome were given "
    "cocaine.",
    "",
    "Title of a paper\nIts abstract, with ovarian cancer and tamoxifen.",
]


@pytest.fixture(scope="module")
def tagger(tiny_folder):
    return Tagger.load(tiny_folder, merge="none")


@pytest.mark.parametrize("merge", ["type", "exact", "none"])
@pytest.mark.parametrize("tasks", [None, ["chem_a"], ["disease_b", "disease_a"]])
def test_answers_are_those_of_a_tagger_loaded_with_the_requests_options(
    serve, tagger, tiny_folder, tasks, merge
):
    client = serve(tagger)
    request = {"texts": TEXTS, "merge": merge, **({"tasks": tasks} if tasks else {})}
    response = client.post("/tag", json=request)
    assert response.status_code == 200, response.text
    # A tagger runs its tasks in the folder's order, whatever order they are asked in.
    ordered = None if tasks is None else [t for t in tagger.tasks if t in tasks]
    peer = Tagger.load(tiny_folder, tasks=ordered, merge=merge)
    assert [json.loads(line) for line in response.text.splitlines()] == peer.tag(TEXTS)


def test_model_is_the_taggers_description(serve, tagger):
    client = serve(tagger, merge="exact")
    assert client.get("/model").json() == {**tagger.describe(), "merge": "exact"}
    response = client.post("/tag", json={"text": "x", "tasks": ["disease_c"]})
    assert response.status_code == 422
    assert response.json()["error"] == (
        "unknown task 'disease_c'; the model's tasks are disease_a, disease_b, chem_a"
    )


def test_pubtator_in_bioc_out(serve, tagger):
    client = serve(tagger)
    body = "1|t|BRCA1 and breast cancer\n1|a|Down syndrome.\n\n2|t|\n2|a|\n\n"
    response = client.post("/tag", params={"format": "bioc-json"}, content=body,
                           headers={"content-type": "text/x-pubtator"})
    assert response.status_code == 200, response.text
    collection = json.loads(response.text)
    assert [d["id"] for d in collection["documents"]] == ["1", "2"]
    assert [p["offset"] for p in collection["documents"][0]["passages"]] == [0, 24]
