"""With no WebRTC seat left (the media node takes 0 listeners), a listener page is sent to
the Space's HLS stream, plays it with hls.js and hears the host, with a delay."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.browser.test_fleet import HEARS_HOST
from tests.e2e.browser.test_web import HOST_HZ, host_launches, sign_up
from tests.support import Server


def test_a_listener_page_falls_back_to_hls_and_hears_the_host(tmp_path, browsers):
    server = Server(tmp_path / "data", {"SPACES_MEDIA_CAPACITY": "0"})
    server.start()
    try:
        host_page = browsers(HOST_HZ).new_page()
        host_launches(host_page, server.url, "Overflow")
        host_page.get_by_role("button", name="Unmute to speak").click()
        expect(host_page.locator("[data-speaker=host]")).to_have_class("talking")

        fan_page = browsers(300.0).new_page()
        sign_up(fan_page, server.url, "fan")
        fan_page.goto(host_page.url)
        fan_page.get_by_role("button", name="Listen").click()
        expect(fan_page.locator("#delayed")).to_have_text("Listening with a delay", timeout=10_000)
        fan_page.wait_for_function(HEARS_HOST, timeout=20_000)
        expect(fan_page.get_by_role("button", name="Stop listening")).to_be_visible()
    finally:
        server.stop()
