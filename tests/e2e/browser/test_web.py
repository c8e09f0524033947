"""People using Spaces in real browsers: host, speakers and listeners each on their page."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import ARTIFACTS

HOST_HZ, FAN_HZ = 440.0, 880.0


def sign_up(page: Page, url: str, handle: str) -> None:
    page.goto(url)
    page.get_by_label("Handle").fill(handle)
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator("#me")).to_have_text(f"@{handle}")


def hearing(page: Page, hz: float | None = None, seconds: float = 2.0) -> dict:
    """What the page's WebAudio analyser hears, after letting audio flow a while."""
    time.sleep(seconds)
    return page.evaluate("(hz) => window.spacesHearing(hz)", hz)


def test_a_space_in_the_browser_from_launch_to_end(server, browsers):
    server.start()
    host_page = browsers(HOST_HZ).new_page()
    fan_page = browsers(FAN_HZ).new_page()
    third_page = browsers(300.0).new_page()

    sign_up(host_page, server.url, "host")
    host_page.get_by_label("Title").fill("Browser show")
    host_page.get_by_role("button", name="Create").click()
    expect(host_page).to_have_url(re.compile(r"/s/[0-9a-f-]+$"))
    link = host_page.url
    host_page.get_by_role("button", name="Launch").click()
    expect(host_page.locator("#state")).to_have_text("live")
    host_page.get_by_role("button", name="Unmute to speak").click()
    expect(host_page.locator("[data-speaker=host]")).to_contain_text("speaking")

    # a signed-in fan opens the public link, listens, and hears the host's tone
    sign_up(fan_page, server.url, "fan")
    fan_page.goto(link)
    fan_page.get_by_role("button", name="Listen").click()
    heard = hearing(fan_page)
    assert abs(heard["peakHz"] - HOST_HZ) < 15, heard

    # the fan asks to speak, the host grants, a third page hears the fan too
    fan_page.get_by_role("button", name="Request to speak").click()
    host_page.get_by_role("button", name="Grant @fan").click()
    fan_page.get_by_role("button", name="Unmute to speak").click()
    expect(host_page.locator("[data-speaker=fan]")).to_contain_text("speaking")
    third_page.goto(link)
    third_page.get_by_role("button", name="Listen").click()
    both = hearing(third_page, FAN_HZ, seconds=2.5)
    assert both["levelAt"] > both["level"] - 20, both  # the fan's tone stands out, not just noise

    # reactions on one page appear on another
    fan_page.get_by_role("button", name="React 🔥").click()
    expect(host_page.locator("#reactions")).to_contain_text("🔥 1")

    ARTIFACTS.mkdir(exist_ok=True)
    host_page.set_viewport_size({"width": 1280, "height": 800})
    host_page.screenshot(path=str(ARTIFACTS / "space-desktop.png"), full_page=True)
    host_page.set_viewport_size({"width": 390, "height": 844})
    host_page.screenshot(path=str(ARTIFACTS / "space-phone.png"), full_page=True)

    # the host removes the fan: the fan's page says so and its audio stops
    host_page.set_viewport_size({"width": 1280, "height": 800})
    removal = host_page.locator("form", has=host_page.get_by_role("button", name="Remove", exact=True))
    removal.get_by_label("Remove").fill("fan")
    removal.get_by_label("Reason for removal").fill("test")
    removal.get_by_role("button", name="Remove", exact=True).click()
    expect(fan_page.locator("#notice")).to_have_text("You were removed from this Space.")
    assert fan_page.evaluate("() => window.spacesHearing()") is None  # no longer listening
    expect(host_page.locator("[data-speaker=fan]")).to_have_count(0)

    host_page.get_by_role("button", name="End the Space").click()
    for page in (host_page, third_page):
        expect(page.locator("#notice")).to_have_text("This Space has ended.")
