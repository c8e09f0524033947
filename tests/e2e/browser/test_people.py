"""The people in a Space, in real browsers: acting on someone by tapping them, the roster on
every page, and a host page that patches itself while its host types."""

from __future__ import annotations

import math
import re
import struct
import wave
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import ARTIFACTS
from tests.e2e.browser.test_web import FAN_HZ, HOST_HZ, host_launches, sign_up
from tests.support import ROOT, Server
from tests.tone_speech import WORDS

TONE_ENGINE = {"SPACES_STT_ENGINE": "tests.tone_speech:ToneWords", "PYTHONPATH": str(ROOT)}

NO_OVERFLOW = "() => document.documentElement.scrollWidth <= window.innerWidth"


def tap(page: Page, where: str, handle: str):
    """Taps a person on the stage ("speaker") or among the listeners; returns their sheet."""
    page.locator(f"[data-{where}={handle}] button").click()
    sheet = page.get_by_role("dialog")
    expect(sheet.get_by_role("heading", name=f"@{handle}")).to_be_visible()
    return sheet


def test_people_of_a_space_tapped_listed_and_patched(server, browsers):
    server.start()
    ARTIFACTS.mkdir(exist_ok=True)
    host = browsers(HOST_HZ).new_page()
    fan = browsers(FAN_HZ).new_page()
    guest = browsers(300.0).new_page()

    link = host_launches(host, server.url, "People show")
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
    sign_up(guest, server.url, "guest")  # finds the Space with the home page's search box
    guest.get_by_label("Search Spaces").fill("people")
    guest.keyboard.press("Enter")
    expect(guest.locator("#results")).to_contain_text("People show")
    guest.set_viewport_size({"width": 360, "height": 780})
    assert guest.evaluate(NO_OVERFLOW), "the home page is wider than 360 px"
    guest.screenshot(path=str(ARTIFACTS / "home-phone.png"), full_page=True)
    guest.locator("#results").get_by_role("link", name="People show").click()
    expect(guest).to_have_url(link)
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

    # the host dismisses the guest's request (the guest's page hears of it); the guest asks
    # again, then lowers their hand
    host.get_by_role("button", name="Dismiss @guest").click()
    expect(host.get_by_role("button", name="Grant @guest")).to_have_count(0)
    guest.get_by_role("button", name="Request to speak").click()
    expect(host.get_by_role("button", name="Grant @guest")).to_be_visible()
    guest.get_by_role("button", name="Lower your hand").click()
    expect(host.get_by_role("button", name="Grant @guest")).to_have_count(0)

    host.evaluate("() => document.activeElement.blur()")
    for width, name in ((1280, "people-desktop.png"), (360, "people-phone.png")):
        host.set_viewport_size({"width": width, "height": 800})
        host.evaluate("() => window.scrollTo(0, 0)")
        assert host.evaluate(NO_OVERFLOW), f"the page is wider than {width} px"
        expect(host.locator("main")).not_to_contain_text("null")
        host.screenshot(path=str(ARTIFACTS / name), full_page=True)
    tap(host, "listener", "guest")  # at phone width, a sheet at the bottom of the screen
    host.screenshot(path=str(ARTIFACTS / "person-phone.png"))
    host.keyboard.press("Escape")
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


def spoken_words(path: Path, seconds: int = 60) -> Path:
    """A microphone saying the tone engine's words one at a time, a pause after each: every
    word is a caption line, and each pause a "talking" message."""
    rate, frames, at = 48_000, [], 0
    pitches = list(WORDS.values())
    while at < seconds * rate:
        hz = pitches[len(frames) % len(pitches)]
        frames.append(b"".join(struct.pack("<h", int(0.4 * 32767 * math.sin(2 * math.pi * hz * i / rate)))
                               for i in range(rate // 2)) + b"\0\0" * int(rate * 1.2))
        at += int(rate * 1.7)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(rate)
        out.writeframes(b"".join(frames))
    return path


def test_the_host_types_while_captions_arrive(tmp_path, browsers):
    server = Server(tmp_path / "data", TONE_ENGINE)
    server.start()
    try:
        host = browsers(0, microphone=spoken_words(tmp_path / "words.wav")).new_page()
        sign_up(host, server.url, "host")
        host.get_by_label("Title").fill("Captioned")
        host.get_by_label("Transcripts").check()
        host.get_by_role("button", name="Create").click()
        host.get_by_role("button", name="Launch").click()
        host.get_by_role("button", name="Unmute to speak").click()
        field = host.get_by_role("textbox", name="Title of the link")
        field.click()
        lines = host.locator("#captions li")
        for typed, heard in (("Notes", 1), (" of the", 3), (" show", 4)):
            host.keyboard.type(typed)
            expect(lines.nth(heard - 1)).to_contain_text("@host: ", timeout=20_000)
        expect(field).to_be_focused()
        expect(field).to_have_value("Notes of the show")
        expect(lines.first).to_contain_text(re.compile("alpha|bravo|charlie|delta|echo"))
    finally:
        server.stop()
