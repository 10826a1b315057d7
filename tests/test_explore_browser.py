"""The explorer of a user's model (`convzoo.explore`) in a real headless Chromium: a model that
torch.fx cannot trace is drawn as a chain with its note, and its layers and units still answer."""

from __future__ import annotations

import pytest
from test_browser_demo import browser  # noqa: F401 - the shared browser fixture
from test_demo_browser import draw_for, wait
from test_explore import Moody

import convzoo

pytestmark = pytest.mark.slow


def test_an_untraceable_user_model_in_the_explorer(browser):  # noqa: F811
    from selenium.webdriver.common.action_chains import ActionChains

    with convzoo.explore(Moody()) as ex:
        draw_for(browser, ex.url, "Moody")
        graph = browser.find_element("id", "graph")
        assert graph.get_attribute("data-traced") == "hooks"
        assert "cannot trace" in browser.find_element("css selector", "#graph .graph-chain-note").text
        names = [g.get_attribute("data-id") for g in browser.find_elements("css selector", "#graph g.node")]
        assert names == ["input", "conv1", "conv2", "fc", "output"]
        browser.find_element("css selector", '#graph g.node[data-id="conv2"]').click()
        maps = wait(browser, lambda d: d.find_elements("id", "node-maps"))[0]
        wait(browser, lambda d: maps.get_attribute("complete") == "true")
        assert browser.find_element("id", "node").get_attribute("data-shape") == "8x26x26"
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", maps)
        ActionChains(browser).move_to_element_with_offset(maps, -maps.size["width"] // 2 + 5,
                                                          -maps.size["height"] // 2 + 5).click().perform()
        info = wait(browser, lambda d: d.find_elements("id", "unit-info"))[0]
        top, bottom, left, right = map(int, info.get_attribute("data-box").split(","))
        assert bottom - top == 4 and right - left == 4  # two 3x3 convolutions see 5x5 pixels
        assert browser.find_element("css selector", "#explain .total").text.startswith("unit (")
