"""The demo's round-two pages in a real headless Chromium: pick a model, draw, click a layer of
its graph and a unit of its maps (the shapes shown are the model's), a scene labelled in colour,
a training run's curve following a new line of metrics.jsonl live, and a worked example stepped
through. Each test is short; they share one server and one browser."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_browser_demo import WAIT, browser, draw  # noqa: F401 - the shared browser fixture
from test_demo_api import DIGITS, SCENES, make_run

from convzoo.analysis.summary import summarize
from convzoo.reference import conv2d_forward
from convzoo.serve import create_app
from convzoo.serve.server import ServerThread

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs")
    make_run(folder / "resnet", "resnet20", DIGITS, rows=[{"epoch": 1, "test_acc": 0.4, "train_loss": 1.5}])
    make_run(folder / "scenes", "unet_padded", SCENES, task="segmentation", width=4)
    with ServerThread(create_app(runs=folder)) as url:
        yield url, folder


def wait(driver, condition):
    """Poll `condition`; an element the page re-rendered between finding and reading it (a curve
    redrawn on a live update) is looked up again on the next poll."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT, poll_frequency=0.05,
                         ignored_exceptions=(StaleElementReferenceException,)).until(condition)


def ready(driver) -> bool:
    return driver.find_element("tag name", "body").get_attribute("data-ready") == "true"


def pick(driver, key: str) -> None:
    from selenium.webdriver.support.select import Select

    Select(driver.find_element("id", "model")).select_by_value(key)
    wait(driver, lambda d: ready(d) and d.find_element("id", "graph").get_attribute("data-model") == key)


def draw_for(driver, url: str, key: str) -> None:
    """Open the demo, pick model `key`, draw a seven and wait for the answer."""
    driver.get(url + "/")
    wait(driver, ready)
    pick(driver, key)
    draw(driver, seven(), "mouse")
    wait(driver, lambda d: d.find_element("id", "answer").get_attribute("data-state") == "done")


def seven() -> np.ndarray:
    digit = np.zeros((28, 28), np.uint8)
    digit[5:8, 6:22] = 255
    for y in range(8, 24):
        digit[y, 20 - (y - 8) // 2:23 - (y - 8) // 2] = 255
    return digit


def test_draw_then_click_a_layer_and_a_unit(browser, site):  # noqa: F811
    from selenium.webdriver.common.action_chains import ActionChains

    url, folder = site
    draw_for(browser, url, "run:resnet")
    from convzoo.infer import Predictor

    rows = {r.name: r for r in summarize(Predictor(folder / "resnet").model, (1, 28, 28)).rows}
    adds = browser.find_elements("css selector", "#graph g.node.kind-add")
    assert len(adds) == 9  # ResNet-20's residual additions, drawn as nodes where two branches meet
    conv = browser.find_elements("css selector", "#graph g.node.kind-conv")[3]
    module = conv.get_attribute("data-id").replace("_", ".")
    conv.click()
    maps = wait(browser, lambda d: d.find_elements("id", "node-maps"))[0]
    wait(browser, lambda d: maps.get_attribute("complete") == "true")
    shown = browser.find_element("id", "node-shape").text
    assert shown == "×".join(map(str, rows[module].shape))
    assert browser.find_element("id", "node").get_attribute("data-shape") == "x".join(map(str, rows[module].shape))
    ActionChains(browser).move_to_element_with_offset(maps, -maps.size["width"] // 2 + 20,
                                                      -maps.size["height"] // 2 + 20).click().perform()
    info = wait(browser, lambda d: d.find_elements("id", "unit-info"))[0]
    top, bottom, left, right = map(int, info.get_attribute("data-box").split(","))
    assert 0 <= top <= bottom < 28 and 0 <= left <= right < 28
    total = browser.find_element("css selector", "#explain .total")
    assert total.text.startswith("unit (") and "bias" in total.text


def test_zoo_googlenet_inception_module_and_a_unit(browser, site):  # noqa: F811
    """The issue's check: GoogLeNet from the zoo, a drawing, an inception module (its four branches'
    concatenation) clicked, then one of its units."""
    from selenium.webdriver.common.action_chains import ActionChains

    from convzoo.infer import Predictor

    draw_for(browser, site[0], "zoo:googlenet")
    model = Predictor("zoo:googlenet").model
    rows = {r.name: r for r in summarize(model, (1, 28, 28)).rows}
    concats = browser.find_elements("css selector", "#graph g.node.kind-concat")
    assert len(concats) == 9  # inception 3a-3b, 4a-4e, 5a-5b
    concats[0].click()
    maps = wait(browser, lambda d: d.find_elements("id", "node-maps"))[0]
    wait(browser, lambda d: maps.get_attribute("complete") == "true")
    # Inception 3a at a quarter width: 16 + 32 + 8 + 8 maps of 28x28, as the model computes them.
    assert browser.find_element("id", "node").get_attribute("data-shape") == "x".join(map(str, rows["body.3a"].shape))
    ActionChains(browser).move_to_element_with_offset(maps, -maps.size["width"] // 2 + 10,
                                                      -maps.size["height"] // 2 + 10).click().perform()
    info = wait(browser, lambda d: d.find_elements("id", "unit-info"))[0]
    top, bottom, left, right = map(int, info.get_attribute("data-box").split(","))
    assert 0 <= top <= bottom < 28 and 0 <= left <= right < 28


def test_a_scene_gets_coloured_labels(browser, site):  # noqa: F811
    from selenium.webdriver.common.action_chains import ActionChains

    url, _ = site
    browser.get(url + "/")
    wait(browser, ready)
    pick(browser, "run:scenes")
    scene = browser.find_element("id", "scene")
    assert scene.is_displayed() and not browser.find_element("id", "pad").is_displayed()
    for dx in (-180, 0, 180):
        ActionChains(browser).move_to_element_with_offset(scene, dx, -40).click_and_hold() \
            .move_by_offset(10, 80).release().perform()
    overlay = wait(browser, lambda d: d.find_element("id", "overlay") if d.find_element(
        "id", "answer").get_attribute("data-state") == "done" else None)
    wait(browser, lambda d: overlay.is_displayed() and overlay.get_attribute("naturalWidth") == "112")
    assert browser.find_element("id", "answer").text.startswith("found:")


def test_a_training_run_updates_live(browser, site):  # noqa: F811
    url, folder = site
    browser.get(url + "/runs")
    wait(browser, ready)
    curve = wait(browser, lambda d: d.find_elements("css selector", 'path.curve[data-run="resnet"]'))[0]
    assert curve.get_attribute("data-points") == "1"
    with open(folder / "resnet" / "metrics.jsonl", "a") as f:
        f.write(json.dumps({"epoch": 2, "test_acc": 0.6, "train_loss": 1.1}) + "\n")
    wait(browser, lambda d: d.find_element("css selector", 'path.curve[data-run="resnet"]')
         .get_attribute("data-points") == "2")
    browser.find_element("css selector", 'input[data-run="scenes"]').click()  # a second run on one chart
    assert "resnet: 2 epochs" in browser.find_element("id", "chart-legend").text


def test_step_through_a_worked_example(browser, site):  # noqa: F811
    from selenium.webdriver.common.keys import Keys

    url, _ = site
    browser.get(url + "/learn")
    wait(browser, ready)
    outputs = browser.find_element("id", "outputs")
    assert json.loads(outputs.get_attribute("data-output")) == [[19, 25], [37, 43]]
    text = browser.find_element("id", "step-text")
    assert text.get_attribute("data-value") == "19"
    browser.find_element("id", "step-next").click()
    assert text.get_attribute("data-value") == "25" and "0 + 2 + 8 + 15 = 25" in text.text
    browser.find_element("id", "padding").send_keys(Keys.ARROW_RIGHT)  # the keyboard moves a slider
    wait(browser, lambda d: len(json.loads(d.find_element("id", "outputs").get_attribute("data-output"))) == 4)
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    k = np.array([[0.0, 1.0], [2.0, 3.0]]).reshape(1, 1, 2, 2)
    expected = conv2d_forward(x, k, padding=1)[0][0, 0].tolist()
    assert json.loads(browser.find_element("id", "outputs").get_attribute("data-output")) == expected
