"""The workbench in a real headless Chromium (Debian's chromium + chromedriver, driven by Selenium).

Each test walks one of the scenarios of docs/serve.md and saves the screenshot shown there
(docs/img/serve-*.png, with POLICY_EVAL_SCREENSHOTS=1). Without a browser these tests skip, naming what is missing, except under
CI=true, where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette", reason="the web extra is not installed")
pytest.importorskip("uvicorn", reason="the web extra is not installed")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
# Screenshots go to a temporary folder, or to docs/img with POLICY_EVAL_SCREENSHOTS=1 (how docs/serve.md's
# pictures are made), so that a test run does not rewrite tracked files.
SHOTS = ROOT / "docs" / "img" if os.environ.get("POLICY_EVAL_SCREENSHOTS") else Path(tempfile.gettempdir()) / "policy-eval-shots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
DRIVER = shutil.which("chromedriver")

if not (CHROMIUM and DRIVER):
    reason = "no Chromium browser and chromedriver (apt-get install chromium chromium-driver)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import uvicorn

    from policy_eval.resources import bundled_policies
    from policy_eval.web.app import create_app
    from policy_eval.web.workbench import Workbench

    folder = tmp_path_factory.mktemp("served") / "policies"
    shutil.copytree(bundled_policies(), folder, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    port = _free_port()
    config = uvicorn.Config(create_app(Workbench.open(folder, examples=EXAMPLES)), host="127.0.0.1", port=port,
                            log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "the workbench did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="policy-eval-chromium-")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1280,1000", f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


# What chromedriver says when the page replaced an element between a condition's finding it and reading it (Chromium
# 156 words it so, an "unknown error", rather than as a stale element)
_REPLACED = "does not belong to the document"


class _Wait(WebDriverWait):
    """A wait whose condition tries again when the page replaced the element it found (see :func:`_wait`)."""

    def until(self, method: Any, message: str = "") -> Any:
        def again_if_replaced(driver: Any) -> Any:
            try:
                return method(driver)
            except WebDriverException as exc:
                if isinstance(exc, StaleElementReferenceException) or _REPLACED in str(exc):
                    return False
                raise
        return super().until(again_if_replaced, message)


def _wait(driver: object, timeout: float = 60) -> WebDriverWait:
    # the page replaces an element while it loads an example: a condition that found the old one tries again
    # (flakes seen in CI: StaleElementReferenceException inside the wait, and from Chromium 156 on, an unknown
    # error "Node with given id does not belong to the document" from get_attribute)
    return _Wait(driver, timeout)


def test_a_wait_tries_again_only_when_the_element_was_replaced() -> None:
    """The two ways chromedriver says an element was replaced make the condition run again; any other error ends
    the wait (no browser needed: a stand-in driver)."""
    calls: list[int] = []

    def replaced_twice(driver: object) -> bool:
        calls.append(1)
        if len(calls) == 1:
            raise WebDriverException("unknown error: unhandled inspector error: {\"code\":-32000,\"message\":"
                                     "\"Node with given id does not belong to the document\"}")
        if len(calls) == 2:
            raise StaleElementReferenceException("stale element reference")
        return True
    wait = _Wait(object(), timeout=5, poll_frequency=0.01)
    assert wait.until(replaced_twice) is True and len(calls) == 3

    def broken(driver: object) -> bool:
        raise WebDriverException("unknown error: session deleted")
    with pytest.raises(WebDriverException, match="session deleted"):
        _Wait(object(), timeout=5, poll_frequency=0.01).until(broken)


def _shot(driver: object, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"serve-{name}.png"))  # type: ignore[attr-defined]


def test_find_clause_2_2_in_the_rulebook(server: str, browser: object) -> None:
    browser.get(server + "/rulebook")  # type: ignore[attr-defined]
    box = browser.find_element(By.ID, "q")  # type: ignore[attr-defined]
    box.send_keys("售后服务规则 2.2")
    browser.find_element(By.ID, "search").click()  # type: ignore[attr-defined]

    def searched(driver: Any) -> list[str] | bool:
        # the search loads a new page: rows of the page before it (every rule) may still be there, or gone, when
        # first looked at (a CI run found an empty list): wait for the searched page's rows
        if "q=" not in driver.current_url:
            return False
        found = [r.get_attribute("data-rule") for r in driver.find_elements(By.CSS_SELECTOR, "tr.rule")]
        return found if "after-sales/refund-only-handling-limit" in found else False
    rules = _wait(browser).until(searched)
    assert all(r.startswith("after-sales/") for r in rules)
    _shot(browser, "rulebook")


def test_run_an_example_and_read_the_violated_verdict(server: str, browser: object) -> None:
    browser.get(server + "/case")  # type: ignore[attr-defined]
    Select(browser.find_element(By.ID, "example")).select_by_visible_text("warranty_refused_breach.json")  # type: ignore[attr-defined]
    browser.find_element(By.ID, "load-example").click()  # type: ignore[attr-defined]
    _wait(browser).until(lambda d: "EX-WAR-001" in d.find_element(By.ID, "case").get_attribute("value"))
    browser.find_element(By.ID, "run").click()  # type: ignore[attr-defined]
    verdict = _wait(browser).until(ec.presence_of_element_located(
        (By.CSS_SELECTOR, '.verdict.violated[data-rule="national-warranty/breach-compensation"]')))
    assert "全国联保规则 三.1" in verdict.text and "100.00 CNY" in verdict.text
    _shot(browser, "case")


def test_fill_in_a_missing_field(server: str, browser: object) -> None:
    import json

    case = json.loads((EXAMPLES / "warranty_refused_breach.json").read_text(encoding="utf-8"))
    del case["claim"]["provided"]
    browser.get(server + "/case")  # type: ignore[attr-defined]
    area = browser.find_element(By.ID, "case")  # type: ignore[attr-defined]
    browser.execute_script("arguments[0].value = arguments[1];", area, json.dumps(case, ensure_ascii=False))  # type: ignore[attr-defined]
    browser.find_element(By.ID, "run").click()  # type: ignore[attr-defined]
    field = _wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, 'input[data-path="claim.provided"]')))
    assert browser.find_elements(By.CSS_SELECTOR,  # type: ignore[attr-defined]
                                 '.verdict.undetermined[data-rule="national-warranty/free-service"]')
    _shot(browser, "undetermined")
    field.send_keys("false")
    browser.find_element(By.CSS_SELECTOR, "button.refill").click()  # type: ignore[attr-defined]
    _wait(browser).until(ec.presence_of_element_located(
        (By.CSS_SELECTOR, '.verdict.violated[data-rule="national-warranty/free-service"]')))
    assert not browser.find_elements(By.CSS_SELECTOR, 'input[data-path="claim.provided"]')  # type: ignore[attr-defined]


def test_a_misspelt_field_shows_the_located_error_as_you_type(server: str, browser: object) -> None:
    browser.get(server + "/edit?file=warranty/v1.yaml")  # type: ignore[attr-defined]
    source = browser.find_element(By.ID, "source")  # type: ignore[attr-defined]
    text = source.get_attribute("value")
    line_no = next(i for i, line in enumerate(text.splitlines(), 1) if "claim.platform_finding" in line)
    browser.execute_script(  # type: ignore[attr-defined]
        "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'));",
        source, text.replace("claim.platform_finding", "claim.platform_findng", 1))
    diag = _wait(browser).until(lambda d: d.find_element(By.CSS_SELECTOR, "#diagnostics .error"))
    assert f"v1.yaml:{line_no}:" in diag.text and "platform_finding" in diag.text
    _shot(browser, "edit")


def test_impact_of_a_48h_to_72h_change(server: str, browser: object) -> None:
    browser.get(server + "/edit?file=after_sales/v2.yaml")  # type: ignore[attr-defined]
    source = browser.find_element(By.ID, "source")  # type: ignore[attr-defined]
    edited = source.get_attribute("value").replace("48h", "72h")
    browser.execute_script("arguments[0].value = arguments[1];", source, edited)  # type: ignore[attr-defined]
    browser.find_element(By.ID, "impact").click()  # type: ignore[attr-defined]
    summary = _wait(browser, 180).until(lambda d: d.find_element(By.ID, "impact-summary"))
    assert "verdict(s) change over" in summary.text
    rows = browser.find_elements(By.CSS_SELECTOR, "tr.transition")  # type: ignore[attr-defined]
    assert rows, "a 48 h -> 72 h handling limit changes some verdict of the examples"
    assert any("after-sales/" in r.text for r in rows)
    _shot(browser, "impact")
    # the after side's "open case" button posts the case and the edited file to the case page (a new tab)
    row = next(r for r in rows if "after-sales/refund-only-handling-limit" in r.text)
    first = browser.current_window_handle  # type: ignore[attr-defined]
    row.find_element(By.CSS_SELECTOR, "button.open-case.after").click()
    _wait(browser).until(lambda d: len(d.window_handles) == 2)
    browser.switch_to.window(next(h for h in browser.window_handles if h != first))  # type: ignore[attr-defined]
    try:
        verdict = _wait(browser, 120).until(ec.presence_of_element_located(
            (By.CSS_SELECTOR, '.verdict[data-rule="after-sales/refund-only-handling-limit"]')))
        assert "complied" in verdict.get_attribute("class")
        assert "after_sales/v2.yaml" in browser.find_element(By.ID, "case-rulebook").text  # type: ignore[attr-defined]
        assert "version 2 chosen" in browser.find_element(By.ID, "versions").text  # type: ignore[attr-defined]
    finally:
        browser.close()  # type: ignore[attr-defined]
        browser.switch_to.window(first)  # type: ignore[attr-defined]


def test_a_fix_button_and_the_format_button(server: str, browser: object) -> None:
    browser.get(server + "/edit?file=warranty/v1.yaml")  # type: ignore[attr-defined]
    source = browser.find_element(By.ID, "source")  # type: ignore[attr-defined]
    text = source.get_attribute("value")
    browser.execute_script(  # type: ignore[attr-defined]
        "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'));",
        source, text.replace("claim.platform_finding", "claim.platform_findng", 1))
    button = _wait(browser).until(lambda d: d.find_element(By.CSS_SELECTOR, "#diagnostics button.fix"))
    assert button.text == "write 'platform_finding'"
    button.click()
    _wait(browser).until(lambda d: d.find_element(By.CSS_SELECTOR, "#diagnostics .ok"))
    assert source.get_attribute("value") == text
    browser.execute_script("arguments[0].value = arguments[1];", source,  # type: ignore[attr-defined]
                           text.replace("    severity: ", "    severity:    ", 1))
    browser.find_element(By.ID, "format").click()  # type: ignore[attr-defined]
    _wait(browser).until(lambda d: d.find_element(By.ID, "save-status").text == "formatted (not saved)")
    assert source.get_attribute("value") == text
