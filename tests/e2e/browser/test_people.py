"""The people in a Space, in real browsers: acting on someone by tapping them, the roster on
every page, and a host page that patches itself while its host types."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import ARTIFACTS
from tests.e2e.browser.test_web import FAN_HZ, HOST_HZ, sign_up

NO_OVERFLOW = "() => document.documentElement.scrollWidth <= window.innerWidth"


def tap(page: Page, where: str, handle: str):
    """Taps a person on the stage ("speaker") or among the listeners; returns their sheet."""
    page.locator(f"[data-{where}={handle}] button").click()
    sheet = page.get_by_role("dialog")
    expect(sheet.get_by_role("heading", name=f"@{handle}")).to_be_visible()
    return sheet


def test_people_of_a_space_tapped_listed_and_patched(server, browsers):
    server.start()
    host = browsers(HOST_HZ).new_page()
    fan = browsers(FAN_HZ).new_page()
    guest = browsers(300.0).new_page()

    sign_up(host, server.url, "host")
    host.get_by_label("Title").fill("People show")
    host.get_by_role("button", name="Create").click()
    expect(host).to_have_url(re.compile(r"/s/[0-9a-f-]+$"))
    link = host.url
    host.get_by_role("button", name="Launch").click()
    expect(host.locator("#state")).to_have_text("live")
    host.get_by_role("button", name="Unmute to speak").click()
    expect(host.locator("[data-speaker=host]")).to_have_class("talking")

    # a listener shows in the host's roster; the host taps them and makes them co-host
    sign_up(fan, server.url, "fan")
    fan.goto(link)
    fan.get_by_role("button", name="Listen").click()
    tap(host, "listener", "fan").get_by_role("button", name="Make co-host").click()
    expect(host.get_by_role("dialog")).to_be_hidden()
    for page in (host, fan):
        expect(page.locator("[data-speaker=fan] [data-role=co-host]")).to_have_text("co-host")
    expect(fan.get_by_role("heading", name="Co-host controls")).to_be_visible()

    # the host types a link to pin while the page hears a speaker start talking, a new
    # listener, a request to speak and a reaction: what they type stays, and so does focus
    url = host.get_by_role("textbox", name="Pin a link")
    url.click()
    host.keyboard.type("https://example.org/no")
    fan.get_by_role("button", name="Unmute to speak").click()
    expect(host.locator("[data-speaker=fan]")).to_have_class("talking")
    sign_up(guest, server.url, "guest")
    guest.goto(link)
    guest.get_by_role("button", name="Listen").click()
    for page in (host, fan, guest):  # the roster updates on every page
        for handle in ("fan", "guest"):
            expect(page.locator(f"#roster [data-listener={handle}]")).to_be_visible()
    guest.get_by_role("button", name="Request to speak").click()
    expect(host.get_by_role("button", name="Grant @guest")).to_be_visible()
    guest.get_by_role("button", name="React 🔥").click()
    expect(host.locator("#reactions")).to_contain_text("🔥 1")
    host.keyboard.type("tes")
    expect(url).to_be_focused()
    expect(url).to_have_value("https://example.org/notes")
    host.keyboard.press("Tab")
    host.keyboard.type("Show notes")
    host.keyboard.press("Enter")
    expect(guest.locator("#pin a")).to_have_attribute("href", "https://example.org/notes")
    expect(guest.locator("#pin")).to_contain_text("Show notes")

    ARTIFACTS.mkdir(exist_ok=True)
    for width, name in ((1280, "people-desktop.png"), (360, "people-phone.png")):
        host.set_viewport_size({"width": width, "height": 800})
        host.evaluate("() => window.scrollTo(0, 0)")
        assert host.evaluate(NO_OVERFLOW), f"the page is wider than {width} px"
        expect(host.locator("main")).not_to_contain_text("null")
        host.screenshot(path=str(ARTIFACTS / name), full_page=True)
    host.set_viewport_size({"width": 1280, "height": 800})

    # with the keyboard alone: a person opens with Enter, Escape closes them, focus comes back
    tile = host.locator("[data-speaker=fan] button")
    tile.focus()
    host.keyboard.press("Enter")
    expect(host.get_by_role("dialog").get_by_role("button", name="No longer co-host")).to_be_visible()
    host.keyboard.press("Escape")
    expect(host.get_by_role("dialog")).to_be_hidden()
    expect(tile).to_be_focused()

    # the co-host, on their own page, may not act on the host, and removes the guest
    sheet = tap(fan, "speaker", "host")
    expect(sheet.get_by_role("button")).to_have_text(["Report", "Close"])
    fan.keyboard.press("Escape")
    sheet = tap(fan, "listener", "guest")
    expect(sheet.get_by_role("button", name="Block")).to_have_count(0)
    expect(sheet.get_by_role("button", name="Make co-host")).to_have_count(0)
    sheet.get_by_role("button", name="Remove", exact=True).click()
    expect(guest.locator("#notice")).to_have_text("You were removed from this Space.")
    for page in (host, fan):
        expect(page.locator("#roster [data-listener=guest]")).to_have_count(0)
        expect(page.locator("#roster [data-listener=fan]")).to_be_visible()
