"""The HTML report: well formed, self-contained (images as data URIs), escaped, and every image
actually loads in a real headless Chromium."""

from __future__ import annotations

import base64
import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from convzoo.analysis.report import build_report
from convzoo.cli import main

pytestmark = pytest.mark.slow  # a real headless Chromium

VOID = {"meta", "img", "br", "hr", "link", "input", "col", "area", "base", "source", "wbr"}
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


class _Checker(HTMLParser):
    """Every non-void tag closed in order; collects the images' sources and the visible text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.images: list[str] = []
        self.text: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs).get("src", ""))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"unexpected </{tag}>")

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def report(tiny_run, tmp_path_factory) -> Path:
    """The report of a copy of the shared tiny run, whose config holds text that needs escaping."""
    run = tmp_path_factory.mktemp("report") / "run <b>&"
    shutil.copytree(tiny_run, run)
    config = json.loads((run / "config.json").read_text())
    config["config"]["out"] = "<script>alert('x')</script>"
    (run / "config.json").write_text(json.dumps(config))
    return build_report(str(run), run / "report.html")


def test_report_is_well_formed_and_self_contained(report):
    html = report.read_text()
    checker = _Checker()
    checker.feed(html)
    checker.close()
    assert not checker.errors and not checker.stack, (checker.errors, checker.stack)
    assert html.startswith("<!DOCTYPE html>")
    # curves, confusion matrix, filters, and the mistakes unless there are none (the tiny run's
    # synthetic digits are easy; test_show checks a report with mistakes)
    has_mistakes = "no mistakes on the test set" not in html
    assert len(checker.images) == 3 + has_mistakes
    for src in checker.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "http://" not in html and "https://" not in html  # nothing to fetch
    text = " ".join(checker.text)
    assert "Metrics per epoch" in text and "T-shirt/top" in text and "lenet_modern" in text


def test_report_escapes_text(report):
    html = report.read_text()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "run &lt;b&gt;&amp;" in html  # the run's name, from a directory name


def test_report_cli_writes_into_the_run_by_default(tiny_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    assert main(["report", str(run)]) == 0
    assert (run / "report.html").is_file() and "wrote" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "missing")]) == 1
    assert "no such checkpoint" in capsys.readouterr().err


def test_every_image_loads_in_a_headless_browser(report, tmp_path):
    for binary in (CHROMIUM, CHROMEDRIVER):
        if not Path(binary).exists():
            pytest.fail(f"{binary} is missing: install Debian's chromium and chromium-driver "
                        "(make browser) to run the browser test")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
                 "--window-size=1200,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.set_page_load_timeout(60)
        driver.get(report.resolve().as_uri())
        widths = driver.execute_script(
            "return Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0);")
        assert len(widths) >= 3 and all(w > 0 for w in widths), widths
        assert driver.title.startswith("convzoo report")
        shot = tmp_path / "report.png"
        assert driver.save_screenshot(str(shot))
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        driver.quit()
