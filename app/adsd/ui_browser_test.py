"""The web UI end to end in a real headless Chromium (Selenium + Debian's chromedriver).

A real adsd (embedded log, temp data dir, free port, its own API-key file) asks a stand-in
external validator that this script runs, so the test decides when a held ad may be approved:
the page is open, the ad is pending, then it turns approved while the test watches the DOM.

  ui_browser_test.py ADSD_BINARY

Every wait is on a DOM condition with a deadline, never a fixed sleep. With
ADSD_UI_SCREENSHOTS=DIR it also saves ui-signin.png, ui-ads.png, ui-history.png and
ui-operator.png into DIR (docs/img/ in the repository).
"""

import os
import re
import shutil
import sys
import tempfile
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from ui_test_servers import ACME, ADMIN, Adsd, Front, Validator, sse_event

XSS_TITLE = "<img src=x onerror=alert(1)>"
HOLD = "[hold]"   # held while the page polls
WAIT = "[wait]"   # held while the page follows the stream


def check_headers(base):
    """The UI's files: no token needed, their types, revalidation, and the policy that keeps a
    hostile field from running."""
    def get(path, headers=None):
        req = urllib.request.Request(base + path, headers=headers or {})
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(req, timeout=10) as res:
                return res.status, res.headers, res.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    status, headers, _ = get("/ui")
    assert status == 308 and headers["Location"] == "/ui/", (status, dict(headers))
    for path, kind in (("/ui/", "text/html"), ("/ui/index.html", "text/html"), ("/ui/app.js", "text/javascript"),
                       ("/ui/app.css", "text/css"), ("/ui/favicon.svg", "image/svg+xml")):
        status, headers, body = get(path)
        assert status == 200 and headers["Content-Type"].startswith(kind), (path, status, dict(headers))
        assert headers["X-Content-Type-Options"] == "nosniff", dict(headers)
        assert headers["Cache-Control"] == "no-cache", dict(headers)
        policy = headers["Content-Security-Policy"]
        for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"):
            assert directive in policy, policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, policy
        again, _, empty = get(path, {"If-None-Match": headers["ETag"]})
        assert again == 304 and empty == b"", (path, again)
    status, _, _ = get("/ui/nothing.js")
    assert status == 404, status


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None


def browser(download_dir):
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,900", "--force-device-scale-factor=1", "--lang=en-US",
                "--no-first-run", "--disable-extensions", "--disable-background-networking"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.add_experimental_option("prefs", {"download.default_directory": download_dir,
                                              "download.prompt_for_download": False})
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def wait_for(driver, what, condition, seconds=20):
    try:
        return WebDriverWait(driver, seconds, poll_frequency=0.05).until(lambda d: condition(d))
    except TimeoutException:
        raise AssertionError("timed out waiting for " + what)


def css(driver, selector):
    found = driver.find_elements(By.CSS_SELECTOR, selector)
    return found[0] if found else None


def ad_item(driver, ad_id, status=None):
    selector = '#by-status li[data-ad-id="%s"]' % ad_id
    if status:
        selector += '[data-status="%s"]' % status
    return css(driver, selector)


def screenshot(driver, name, full_height=False, height=None):
    out = os.environ.get("ADSD_UI_SCREENSHOTS")
    if not out:
        return
    os.makedirs(out, exist_ok=True)
    if full_height:  # the whole page, not only the window
        page = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1280, min(max(900, page + 160), 2400))  # + the window frame
    elif height:
        driver.set_window_size(1280, height)
    driver.save_screenshot(os.path.join(out, "ui-%s.png" % name))
    driver.set_window_size(1280, 900)


def sign_in(driver, token):
    box = wait_for(driver, "the token field", lambda d: css(d, "#token:not([disabled])"))
    wait_for(driver, "the sign-in form", lambda d: d.find_element(By.ID, "signin").is_displayed())
    box.clear()
    box.send_keys(token)
    box.send_keys(Keys.ENTER)  # the keyboard submits the form


def check_parser(driver):
    # The stream parser on its own, in this browser: line ends CRLF, LF and CR, fed one
    # character at a time (a CRLF split between reads), comments, a field without a colon, and
    # an id that carries over to the next event.
    parsed = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        import('/ui/sse.js').then(({ sseParser }) => {
          const got = [];
          const feed = sseParser((e) => got.push(e));
          const text = ': hello\\r\\nid: 7\\r\\nevent: ad.approved\\r\\ndata: {"a":1}\\r\\ndata:  x\\r\\n\\r\\n' +
                       'id: 8\\rdata:y\\r\\r:heartbeat\\n\\ndata\\n\\nevent: e\\n\\n';
          for (const c of text) feed(c);
          done(got);
        }, (e) => done(String(e)));""")
    assert parsed == [{"type": "ad.approved", "data": '{"a":1}\n x', "id": "7"},
                      {"type": "message", "data": "y", "id": "8"},
                      {"type": "message", "data": "", "id": "8"}], parsed


def retailer_on_adsd(driver, adsd, validator, ads, downloads):
    """A retailer on adsd as it is: its ads, a history, a pending ad approved, the CSV."""
    good, bad, xss, rejected = ads["good"], ads["bad"], ads["xss"], ads["rejected"]
    # A wrong token is refused on the page.
    sign_in(driver, "not-a-token")
    wait_for(driver, "the refusal", lambda d: "not known" in d.find_element(By.ID, "signin-error").text)

    # The retailer: the failed ad first, with every reason.
    sign_in(driver, ACME)
    wait_for(driver, "the rejected ad", lambda d: ad_item(d, bad["ad_id"], "rejected"))
    wait_for(driver, "the approved ad", lambda d: ad_item(d, good["ad_id"], "approved"))
    groups = [g.get_attribute("data-status") for g in driver.find_elements(By.CSS_SELECTOR, "#by-status .status-group")]
    assert groups[0] == "rejected", groups
    item = ad_item(driver, bad["ad_id"])
    shown = [li.text for li in item.find_elements(By.CSS_SELECTOR, ".reasons li")]
    assert len(shown) == len(rejected["reasons"]), (shown, rejected["reasons"])
    for reason, text in zip(rejected["reasons"], shown):
        assert reason["code"] in text and reason["message"] in text, (reason, text)
    assert item.find_element(By.CSS_SELECTOR, ".ad-title").text == "GUARANTEED winter boots!!!"
    assert driver.execute_script("return sessionStorage.getItem('adsd.token')") == ACME

    # A hostile title is text, never markup.
    hostile = ad_item(driver, xss["ad_id"])
    assert hostile is not None
    assert hostile.find_element(By.CSS_SELECTOR, ".ad-title").text == XSS_TITLE
    assert driver.find_elements(By.CSS_SELECTOR, "#by-status img") == []
    # This server has webhooks: their panel is shown.
    wait_for(driver, "the webhooks panel", lambda d: d.find_element(By.ID, "webhooks").is_displayed())

    # This server has the live stream: the page follows it.
    wait_for(driver, "the live indicator", lambda d: d.find_element(By.ID, "live-text").text == "live")
    mode = driver.find_element(By.ID, "live-text").text
    screenshot(driver, "ads", full_height=True)

    # The failed ad's history: its events with positions and hash-chain links; Escape closes it
    # and gives the focus back to the button that opened it.
    button = item.find_element(By.CSS_SELECTOR, ".history-button")
    button.click()
    wait_for(driver, "the history rows", lambda d: len(d.find_elements(By.CSS_SELECTOR, "#history-table tbody tr")) >= 2)
    rows = driver.find_elements(By.CSS_SELECTOR, "#history-table tbody tr")
    cells = [[td.text for td in r.find_elements(By.TAG_NAME, "td")] for r in rows]
    assert cells[0][2] == "AdSubmitted" and cells[-1][2] == "AdRejected", cells
    assert cells[0][0] == str(bad["position"]), (cells[0], bad)
    for c in cells:
        assert re.fullmatch(r"[0-9a-f]{64}", c[4]), c
    screenshot(driver, "history")
    if mode == "polling":  # a refresh redraws the list under the dialog: focus still finds the ad
        wait_for(driver, "a refresh under the dialog", lambda d: EC.staleness_of(button)(d))
    driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    wait_for(driver, "the history to close", lambda d: not d.find_element(By.ID, "history").is_displayed())
    wait_for(driver, "focus back on the History button",
             lambda d: d.switch_to.active_element.get_attribute("aria-label") == "History of GUARANTEED winter boots!!!")

    # A pending ad turns approved while the page is open.
    # (Refresh, as a user would: with a live stream that sends no ad.pending, nothing else
    # would show a new ad at once; the verdict then arrives by polling or by the stream.)
    held = adsd.submit(HOLD + " Spring jackets")
    driver.find_element(By.ID, "refresh").click()
    wait_for(driver, "the held ad, pending", lambda d: ad_item(d, held["ad_id"], "pending"))
    validator.release(HOLD)
    wait_for(driver, "the held ad, approved", lambda d: ad_item(d, held["ad_id"], "approved"), seconds=30)
    wait_for(driver, "the announcement", lambda d: "now approved" in d.find_element(By.ID, "announce").text)
    assert ad_item(driver, held["ad_id"], "pending") is None

    # The daily CSV, fetched with the token and offered as a Blob link.
    driver.find_element(By.CSS_SELECTOR, "#csv-form button").click()
    link = wait_for(driver, "the CSV link", lambda d: css(d, "#csv-link"))
    assert link.get_attribute("href").startswith("blob:"), link.get_attribute("href")
    assert re.fullmatch(r"ads-acme-\d{4}-\d{2}-\d{2}\.csv", link.get_attribute("download")), link.get_attribute("download")
    # The page saved it too (the link was clicked for the user): the browser's download.
    saved = os.path.join(downloads, link.get_attribute("download"))
    wait_for(driver, "the downloaded CSV", lambda d: os.path.exists(saved))
    with open(saved, newline="") as f:
        csv = f.read()
    assert csv.startswith("ad_id,status,decided_at,title,landing_url,reasons"), csv[:80]
    assert bad["ad_id"] in csv and held["ad_id"] in csv
    ads["held"] = held
    return mode


def operator_view(driver, ads):
    bad = ads["bad"]
    # The operator: positions and lag, parked streams, rebuild with its result.
    driver.find_element(By.ID, "signout").click()
    wait_for(driver, "signed out", lambda d: d.find_element(By.ID, "signin").is_displayed())
    assert driver.execute_script("return sessionStorage.getItem('adsd.token')") is None
    sign_in(driver, ADMIN)
    wait_for(driver, "the operator view", lambda d: d.find_element(By.ID, "operator").is_displayed())
    wait_for(driver, "the log head", lambda d: css(d, '#ready-table tr[data-key="log_head"]'))
    wait_for(driver, "the projection's lag", lambda d: css(d, '#lag-table tr[data-consumer="projection:ads"]'))
    wait_for(driver, "the parked streams", lambda d: d.find_element(By.ID, "parked-empty").text == "No parked stream.")
    assert not driver.find_element(By.ID, "ads").is_displayed()
    driver.find_element(By.ID, "rebuild").click()
    wait_for(driver, "the rebuild's result",
             lambda d: d.find_element(By.ID, "rebuild-result").get_attribute("data-outcome") == "ok")
    assert re.search(r"Rebuilt the ads read model: \d+ events", driver.find_element(By.ID, "rebuild-result").text)
    # The log verified from the page.
    driver.find_element(By.ID, "verify").click()
    wait_for(driver, "the verification's result",
             lambda d: d.find_element(By.ID, "verify-result").get_attribute("data-outcome") == "intact")
    assert re.search(r"Intact: \d+ records, head hash [0-9a-f]{64}", driver.find_element(By.ID, "verify-result").text)
    # An ad as it stood then: before it existed, and now (rebuilt from its events).
    driver.find_element(By.ID, "past-id").send_keys(bad["ad_id"])
    driver.find_element(By.ID, "past-at").send_keys("2000-01-01T00:00:00Z", Keys.ENTER)
    wait_for(driver, "no ad before it existed",
             lambda d: d.find_element(By.ID, "past-result").get_attribute("data-outcome") == "absent")
    driver.find_element(By.ID, "past-at").clear()
    driver.find_element(By.ID, "past-at").send_keys("2999-01-01T00:00:00Z", Keys.ENTER)
    wait_for(driver, "the ad as it stands, from its events",
             lambda d: d.find_element(By.ID, "past-result").get_attribute("data-outcome") == "rejected")
    assert "version 2" in driver.find_element(By.ID, "past-result").text
    screenshot(driver, "operator", full_height=True)

    # An operator looks at one retailer's ads (admins name the retailer).
    driver.find_element(By.ID, "as-retailer").send_keys("acme", Keys.ENTER)
    wait_for(driver, "acme's rejected ad, for the operator", lambda d: ad_item(d, bad["ad_id"], "rejected"))
    assert driver.find_element(By.ID, "ads-h").text == "Ads of acme"


def live_through_front(driver, adsd, validator, front, ads):
    held = ads["held"]
    # Live: the same page behind a front that serves the stream. A change arrives as an
    # event and moves the ad; no polling meanwhile. When the stream ends, the page
    # reconnects and resumes from the last event's id.
    driver.find_element(By.ID, "signout").click()
    driver.get(front.base + "/ui/")
    sign_in(driver, ACME)
    wait_for(driver, "the live indicator", lambda d: d.find_element(By.ID, "live-text").text == "live")
    assert front.await_connections(1) == [None]
    wait_for(driver, "the list", lambda d: ad_item(d, held["ad_id"], "approved"))
    waiting = adsd.submit(WAIT + " Autumn scarves")
    front.send(sse_event({"type": "ad.pending", "ad_id": waiting["ad_id"], "status": "pending", "reasons": [],
                          "version": waiting["version"], "position": waiting["position"],
                          "occurred_at": "2026-01-01T00:00:00.000Z"}))
    wait_for(driver, "the waiting ad, pending (from the stream)", lambda d: ad_item(d, waiting["ad_id"], "pending"))
    # It came from the event: the page read that ad at the event's position.
    assert "/v1/ads/%s?min_position=%d&wait_ms=5000" % (waiting["ad_id"], waiting["position"]) in front.paths
    validator.release(WAIT)
    approved = adsd.await_status(waiting, {"approved"})
    assert driver.execute_script("return document.body.dataset.live") == "live"
    assert ad_item(driver, waiting["ad_id"], "pending") is not None  # no poll has moved it
    front.send(sse_event({"type": "ad.approved", "ad_id": waiting["ad_id"], "status": "approved", "reasons": [],
                          "version": approved["version"], "position": approved["position"],
                          "occurred_at": approved["decided_at"]}))
    wait_for(driver, "the waiting ad, approved (from the stream)", lambda d: ad_item(d, waiting["ad_id"], "approved"))
    wait_for(driver, "the live announcement",
             lambda d: d.find_element(By.ID, "announce").text == '"%s Autumn scarves" is now approved' % WAIT)
    front.close_stream()
    resumed = front.await_connections(2)
    assert resumed[1] == str(approved["position"]), resumed
    wait_for(driver, "live again", lambda d: d.find_element(By.ID, "live-text").text == "live")


def repairs_through_front(driver, front, ads):
    bad = ads["bad"]
    # Failed webhook deliveries: the retailer sees its parked one; an operator retries it.
    delivery = {"id": "msg_0001", "type": "ad.rejected", "ad_id": bad["ad_id"], "position": 5, "state": "parked",
                "attempts": 8, "last_status": 503, "last_error": "<b>HTTP 503</b>"}
    front.webhooks = [{"id": "ep_1", "url": "https://hooks.example.com/adsd?<i>x</i>", "events": ["ad.rejected"],
                       "retailer": "acme", "created_at": "2026-01-01T00:00:00.000Z", "deliveries": [delivery]}]
    driver.find_element(By.ID, "refresh").click()
    row = wait_for(driver, "the parked delivery", lambda d: css(d, '#webhooks tr[data-delivery="msg_0001"]'))
    assert row.get_attribute("data-state") == "parked"
    assert "<b>HTTP 503</b>" in row.text and driver.find_elements(By.CSS_SELECTOR, "#webhooks b, #webhooks i") == []
    assert driver.find_element(By.CSS_SELECTOR, "#webhooks .wh-url").text == "https://hooks.example.com/adsd?<i>x</i>"

    # An operator replays a parked stream; its error (hostile too) is text.
    stream = "ad-" + bad["ad_id"]
    front.parked = [{"stream": stream, "first_position": bad["position"], "events": 2,
                     "error": "<img src=x onerror=alert(2)> the handler failed"}]
    driver.find_element(By.ID, "signout").click()
    sign_in(driver, ADMIN)
    row = wait_for(driver, "the parked stream", lambda d: css(d, '#parked-table tr[data-stream="%s"]' % stream))
    assert row.find_elements(By.TAG_NAME, "td")[3].text == "<img src=x onerror=alert(2)> the handler failed"
    assert driver.find_elements(By.CSS_SELECTOR, "#operator img") == []
    row.find_element(By.TAG_NAME, "button").click()
    wait_for(driver, "the replay's result", lambda d: d.find_element(By.ID, "parked-result").text == "Replayed %s." % stream)
    assert front.replayed == [stream], front.replayed
    wait_for(driver, "no parked stream left", lambda d: d.find_element(By.ID, "parked-empty").is_displayed())
    row = wait_for(driver, "the parked delivery, for the operator", lambda d: css(d, '#ops-webhooks tr[data-delivery="msg_0001"]'))
    assert "Retailer acme" in driver.find_element(By.ID, "ops-webhooks").text
    row.find_element(By.TAG_NAME, "button").click()
    wait_for(driver, "the retry's result",
             lambda d: d.find_element(By.CSS_SELECTOR, "#ops-webhooks .wh-result").text == "Delivery msg_0001 is due again.")
    assert front.retried == ["msg_0001"], front.retried
    wait_for(driver, "no failed delivery left", lambda d: "No failed delivery." in d.find_element(By.ID, "ops-webhooks").text)


def check_console(driver):
    # Nothing the page did was refused by the Content-Security-Policy, and nothing failed.
    # The expected refusals are answers the page asked for: the wrong token (401), the
    # retailer's token on the admin-only route (403, how the page tells the roles apart), and
    # the stream this server does not have yet (404), and an ad looked up as of a time before it
    # existed (404: the answer the operator asked for).
    expected = re.compile(r"/v1/admin/parked - .* (401|403)|/v1/ads/stream(\?\S*)? - .* 404|/v1/webhooks(\?\S*)? - .* 404"
                          r"|/v1/ads/[0-9a-f-]+\?as_of=2000-01-01T00%3A00%3A00Z - .* 404")
    problems = [e for e in driver.get_log("browser")
                if e["level"] == "SEVERE" and not (e["source"] == "network" and expected.search(e["message"]))]
    assert problems == [], problems


def run(binary):
    root = tempfile.mkdtemp(prefix="adsd-ui-test-")
    validator = Validator([HOLD, WAIT])
    adsd = Adsd(binary, root, validator.url)
    front = Front(adsd.base)
    driver = None
    try:
        # Ads submitted before the page opens: a good one, a bad one, one with a hostile title.
        good = adsd.submit("Winter boots")
        bad = adsd.submit("GUARANTEED winter boots!!!", landing_url="https://bit.ly/boots")
        xss = adsd.submit(XSS_TITLE)
        adsd.await_status(good, {"approved"})
        rejected = adsd.await_status(bad, {"rejected"})
        assert len(rejected["reasons"]) >= 2, rejected
        adsd.await_status(xss, {"approved", "rejected"})

        check_headers(adsd.base)
        downloads = os.path.join(root, "downloads")
        driver = browser(downloads)
        driver.get(adsd.base + "/ui/")
        assert driver.title == "adsd"
        wait_for(driver, "focus on the token field", lambda d: d.switch_to.active_element.get_attribute("id") == "token")
        screenshot(driver, "signin", height=520)
        ads = {"good": good, "bad": bad, "xss": xss, "rejected": rejected}

        check_parser(driver)
        mode = retailer_on_adsd(driver, adsd, validator, ads, downloads)
        operator_view(driver, ads)
        live_through_front(driver, adsd, validator, front, ads)
        repairs_through_front(driver, front, ads)
        check_console(driver)
        print("ui browser test: ok (on adsd: %s; through the front: live)" % mode)
        return 0
    finally:
        if driver is not None:
            driver.quit()
        front.stop()
        adsd.stop()
        validator.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1]))
