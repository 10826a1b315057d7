"""The demo end to end in a real headless Chromium: held-out MNIST digits are drawn on the canvas
with pointer input (mouse, pen and touch), the page shows the right answers, the fashion mode reads
an uploaded picture; a screenshot is kept."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import MNIST_10K, require_mnist_10k
from PIL import Image
from test_preprocess import ink_runs

from convzoo.serve import create_app
from convzoo.serve.server import ServerThread

pytestmark = pytest.mark.slow  # a real headless Chromium

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--window-size=1100,1300"]
CELL = 9  # pad pixels per digit pixel: a 28x28 digit drawn across 252 of the pad's 280 pixels
WAIT = 30  # seconds for the page to show an answer (generous: the machines are shared)


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(f"the browser test needs {' and '.join(missing)}: install Debian's chromium and "
                    "chromium-driver (`make browser` does)", pytrace=False)
    profile = tempfile.mkdtemp(prefix="convzoo-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def page(browser):
    from selenium.webdriver.support.ui import WebDriverWait

    with ServerThread(create_app()) as url:
        browser.get(url + "/")
        WebDriverWait(browser, WAIT).until(
            lambda d: d.find_element("tag name", "body").get_attribute("data-ready"))
        yield browser


def held_out_digits():
    """One held-out digit of each class 0-9 (the first of each in the held-out order)."""
    require_mnist_10k()
    from convzoo.data import load_dataset

    test = load_dataset("mnist", MNIST_10K, test_holdout=1000, seed=0).test
    images, labels = test.images[:, 0].numpy(), test.labels.numpy()
    return [(images[np.flatnonzero(labels == k)[0]], k) for k in range(10)]


def draw(driver, digit: np.ndarray, kind: str) -> None:
    """Trace the digit's ink row by row with real pointer input of `kind` (mouse, pen or touch)."""
    from selenium.webdriver.common.actions import interaction
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.pointer_input import PointerInput

    pad = driver.find_element("id", "pad")
    scale = pad.size["width"] / 280  # CSS pixels per pad pixel
    origin = (14 - 140) * scale  # offsets are from the element's centre

    def at(x, y):
        return round(origin + (x + 0.5) * CELL * scale), round(origin + (y + 0.5) * CELL * scale)

    kinds = {"mouse": interaction.POINTER_MOUSE, "pen": interaction.POINTER_PEN,
             "touch": interaction.POINTER_TOUCH}
    actions = ActionBuilder(driver, mouse=PointerInput(kinds[kind], kind), duration=0)
    for y, x0, x1 in ink_runs(digit):
        actions.pointer_action.move_to(pad, *at(x0, y)).pointer_down()
        actions.pointer_action.move_to(pad, *at(x1, y)).pointer_up()
    actions.perform()


def shown_answer(driver) -> str:
    from selenium.webdriver.support.ui import WebDriverWait

    answer = driver.find_element("id", "answer")
    WebDriverWait(driver, WAIT, poll_frequency=0.05).until(
        lambda d: answer.get_attribute("data-state") == "done")
    return answer.get_attribute("data-answer")


def test_drawn_digits_are_read_on_the_page(page, tmp_path_factory):
    kinds = ["mouse", "pen", "touch"]
    shown = []
    for i, (digit, label) in enumerate(held_out_digits()):
        page.find_element("id", "clear").click()
        draw(page, digit, kinds[i % 3])
        shown.append((label, shown_answer(page)))
    right = sum(str(label) == answer for label, answer in shown)
    assert right >= 9, shown  # ten digits of ten classes, drawn as pen strokes
    assert page.find_element("id", "answer").text.startswith("answer: ")
    bars = page.find_elements("css selector", "#bars li")
    assert len(bars) == 10 and len(page.find_elements("css selector", "#bars li.best")) == 1
    assert page.find_element("css selector", "#bars li.best .name").text == shown[-1][1]
    assert len(page.find_elements("css selector", "#maps figure img")) == 2  # conv1, conv2 feature maps
    shot = tmp_path_factory.mktemp("screenshots") / "demo-digits.png"
    assert page.save_screenshot(str(shot))
    keep = Path(tempfile.gettempdir()) / "convzoo-demo-digits.png"
    shutil.copyfile(shot, keep)
    print(f"screenshot: {keep}")
    page.find_element("id", "clear").click()
    assert page.find_element("id", "answer").get_attribute("data-state") == "empty"


def test_fashion_mode_reads_an_upload(page, tmp_path):
    from convzoo.data import load_dataset
    from convzoo.infer import Predictor

    test = load_dataset("fashion-mnist").test
    picture = Image.fromarray(255 - test.images[0, 0].numpy()).resize((140, 140))  # dark on white
    path = tmp_path / "garment.png"
    picture.save(path)
    expected = Predictor("fashion").predict_files([path], top_k=1)[0]["top"][0]["class"]
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait

    Select(page.find_element("id", "model")).select_by_value("fashion")
    WebDriverWait(page, WAIT).until(lambda d: "Upload" in d.find_element("id", "input-title").text and
                                    d.find_element("tag name", "body").get_attribute("data-ready") == "true")
    page.find_element("id", "upload").send_keys(str(path))
    assert shown_answer(page) == expected == test.classes[int(test.labels[0])]
    assert page.find_element("css selector", "#bars li.best .name").text == expected  # fashion's own classes
    page.save_screenshot(str(Path(tempfile.gettempdir()) / "convzoo-demo-fashion.png"))
    Select(page.find_element("id", "model")).select_by_value("digits")
    WebDriverWait(page, WAIT).until(lambda d: d.find_element("tag name", "body").get_attribute("data-ready") == "true")
