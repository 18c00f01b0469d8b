"""The tagging page in a real browser: Debian's Chromium, headless, driven by selenium through
Debian's ChromeDriver, against uvicorn serving the app on a free port. No browser or driver is
ever downloaded: without them the test fails and says how to install them (`make browser`).

``HSL_BIONER_SCREENSHOT=docs/tagging_page.png`` also saves the page's screenshot there (how the
README's screenshot is made)."""
import json
import os
import shutil
import urllib.request
from pathlib import Path

import pytest

TEXT = (
    "Germline mutations in BRCA1 and BRCA2 in hereditary breast and ovarian cancer\n"
    "We studied 120 patients with Duchenne muscular dystrophy, 40 with familial adenomatous "
    "polyposis (FAP) and 15 with Down syndrome. Colorectal cancer was found in 12 of the FAP "
    "patients; none of the patients with type 2 diabetes developed ovarian cancer."
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        pytest.fail(
            "the page's test needs Debian's chromium and chromium-driver (/usr/bin/chromium, "
            "/usr/bin/chromedriver), which are missing: run `make browser` (the project's set-up "
            "installs them; nothing downloads a browser at run time)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    # Without the background-networking flags Chromium tries to reach Google's servers, which a
    # closed network refuses (and a CI machine should not do anyway).
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--window-size=1100,900",
        f"--user-data-dir={tmp_path_factory.mktemp('profile')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def api_entities(url, merge, tasks=None):
    query = f"merge={merge}" + (f"&tasks={','.join(tasks)}" if tasks else "")
    request = urllib.request.Request(
        f"{url}tag?{query}", data=json.dumps({"text": TEXT}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        (record,) = [json.loads(line) for line in response.read().decode().splitlines()]
    return record["entities"]


@pytest.fixture(scope="module")
def page_tagger(tiny_folder):
    """The tagger of the test folder (random weights: many entities, overlapping ones too), or of
    the exported folder that ``HSL_BIONER_PAGE_FOLDER`` names (for the README's screenshot)."""
    from hsl_bioner_runtime.tagger import Tagger

    return Tagger.load(os.environ.get("HSL_BIONER_PAGE_FOLDER") or tiny_folder, merge="none")


def page_entities(driver):
    """The page's highlighted entities: (text, type, start, end, title) per entity, its pieces
    joined (an entity crossing another's end is drawn in two pieces)."""
    from selenium.webdriver.common.by import By

    found = {}
    for mark in driver.find_elements(By.CSS_SELECTOR, "mark.entity"):
        key = mark.get_attribute("data-entity")
        text = mark.get_attribute("textContent")
        if key in found:
            found[key][0] += text
        else:
            found[key] = [text, mark.get_attribute("data-type"), mark.get_attribute("data-start"),
                          mark.get_attribute("data-end"), mark.get_attribute("title")]
    order = sorted(found, key=lambda key: [int(n) for n in key.split(".")])
    return [tuple(found[key]) for key in order]


def expected(entities):
    return [
        (e["text"], e["type"], str(e["start"]), str(e["end"]),
         f"{e['type']} · task {', '.join(e.get('tasks', [e['task']]))} · score {e['score']:.3f}")
        for e in entities
    ]


def test_the_page_highlights_the_apis_entities(browser, serve_live, page_tagger, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import Select, WebDriverWait

    url = serve_live(page_tagger)
    browser.get(url)
    wait = WebDriverWait(browser, 30)
    wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, ".task-toggle")))
    toggles = {box.get_attribute("value"): box
               for box in browser.find_elements(By.CSS_SELECTOR, ".task-toggle")}
    assert list(toggles) == list(page_tagger.tasks)

    for merge in ("none", "type"):  # none: overlapping entities, nested or crossing
        Select(browser.find_element(By.ID, "merge")).select_by_value(merge)
        browser.find_element(By.ID, "text").clear()
        browser.find_element(By.ID, "text").send_keys(TEXT)
        browser.find_element(By.ID, "tag").click()
        entities = api_entities(url, merge)
        wait.until(seen.text_to_be_present_in_element(
            (By.ID, "status"), f"{len(entities)} entities in 1 document"))
        assert page_entities(browser) == expected(entities)
    legend = [swatch.get_attribute("data-type")
              for swatch in browser.find_elements(By.CSS_SELECTOR, "#legend .swatch")]
    model_types = {t for task in page_tagger.tasks for t in page_tagger.model.types_of_task[task]}
    assert set(legend) == model_types | {e["type"] for e in entities}

    # Untick the last task: the entities that only it found are no longer highlighted.
    unticked = page_tagger.tasks[-1]
    toggles[unticked].click()
    for mark in browser.find_elements(By.CSS_SELECTOR, "mark.entity"):
        off = "off" in mark.get_attribute("class").split()
        assert off == (mark.get_attribute("data-tasks").split(",") == [unticked])
    if len(page_tagger.tasks) == 1:  # nothing would be left to download
        toggles[unticked].click()
    # Download what is shown: the ticked tasks' entities, in the chosen format (the link's
    # click is caught to read the file instead of saving it).
    file_name, written = browser.execute_async_script(
        """const done = arguments[0];
        HTMLAnchorElement.prototype.click = function () {
          fetch(this.href).then((r) => r.text()).then((text) => done([this.download, text]));
        };
        document.getElementById("format").value = "pubtator";
        document.getElementById("download").click();"""
    )
    assert file_name == "entities.pubtator"
    lines = written.splitlines()
    assert lines[0] == "1|t|" + TEXT.split("\n")[0]
    ticked = [box.get_attribute("value") for box in toggles.values() if box.is_selected()]
    assert [line.split("\t")[4:6] for line in lines[2:] if line] == [
        [e["type"], e["task"]] for e in api_entities(url, "type", ticked)
    ]
    if not toggles[unticked].is_selected():
        toggles[unticked].click()

    screenshot = tmp_path / "page.png"
    browser.save_screenshot(str(screenshot))
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("HSL_BIONER_SCREENSHOT"):
        Path(os.environ["HSL_BIONER_SCREENSHOT"]).write_bytes(screenshot.read_bytes())


def test_the_page_shows_errors_and_uploads_files(browser, serve_live, rule_tagger, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    url = serve_live(rule_tagger)
    browser.get(url)
    wait = WebDriverWait(browser, 30)
    wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, ".task-toggle")))
    upload = tmp_path / "in.pubtator"
    upload.write_text("5|t|BRCA1 in breast cancer\n5|a|Rare.\n\n6|t|Tumour\n6|a|\n\n")
    browser.find_element(By.ID, "file").send_keys(str(upload))
    browser.find_element(By.ID, "tag").click()
    wait.until(seen.text_to_be_present_in_element((By.ID, "status"), "3 entities in 2 documents"))
    headings = [h.text for h in browser.find_elements(By.CSS_SELECTOR, ".document h2")]
    assert headings == ["Document 5", "Document 6"]

    upload.write_text("5|t|Title\n5|x|bad line\n")
    browser.find_element(By.ID, "file").send_keys(str(upload))
    browser.find_element(By.ID, "tag").click()
    wait.until(seen.text_to_be_present_in_element((By.ID, "status"), "400: unreadable pubtator"))
    assert "error" in browser.find_element(By.ID, "status").get_attribute("class")
