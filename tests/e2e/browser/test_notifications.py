"""Following, reminders, notifications and a host's analytics, in real browsers."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import ARTIFACTS
from tests.e2e.browser.test_web import HOST_HZ, sign_up


def create(page: Page, url: str, title: str, later: bool = False) -> str:
    page.goto(url)
    page.get_by_label("Title").fill(title)
    if later:
        page.get_by_label("Start later").fill((datetime.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Create").click()
    expect(page).to_have_url(re.compile(r"/s/[0-9a-f-]+$"))
    return page.url


def test_a_follower_with_a_reminder_is_told_once_and_the_host_reads_how_it_went(server, browsers):
    server.start()
    browser = browsers(HOST_HZ)
    host, fan = browser.new_page(), browser.new_page()  # a context each: two people
    sign_up(host, server.url, "host")
    link = create(host, server.url, "Morning show", later=True)

    sign_up(fan, server.url, "fan")
    fan.goto(link)
    fan.get_by_role("button", name="Follow @host").click()
    expect(fan.get_by_role("button", name="Following @host")).to_have_attribute("aria-pressed", "true")
    go_live = fan.get_by_role("button", name="Go-live notifications from @host")
    expect(go_live).to_have_attribute("aria-pressed", "true")
    go_live.click()
    expect(go_live).to_have_attribute("aria-pressed", "false")
    go_live.click()
    expect(go_live).to_have_attribute("aria-pressed", "true")
    fan.get_by_role("button", name="Remind me").click()
    expect(fan.get_by_role("button", name="Reminder set")).to_be_visible()
    expect(fan.locator("#reminders")).to_have_text(" · 1 person wants a reminder")

    # the launch reaches the fan's bell live (on the home page: a Space's page reads the
    # count once a minute); following and a reminder make one notification
    fan.goto(server.url)
    expect(fan.locator("#bell")).to_have_attribute("aria-label", "Notifications")
    host.get_by_role("button", name="Launch").click()
    expect(fan.locator("#bell .count")).to_have_text("1")
    fan.locator("#bell").click()
    expect(fan).to_have_url(server.url + "/notifications")
    items = fan.locator("#notifications li")
    expect(items).to_have_count(1)
    expect(items.first).to_have_text(re.compile("^@host is live: “Morning show”."))
    expect(items.first).to_have_class(re.compile("unread"))
    fan.get_by_role("button", name="Mark all read").click()
    expect(fan.locator("#bell .count")).to_be_hidden()
    expect(fan.locator("#notifications li.unread")).to_have_count(0)

    # a second launch appears on the open notifications page, newest first
    create(host, server.url, "Evening show")
    host.get_by_role("button", name="Launch").click()
    expect(items.first).to_have_text(re.compile("^@host is live: “Evening show”."))
    expect(items).to_have_count(2)
    expect(fan.locator("#bell .count")).to_have_text("1")
    ARTIFACTS.mkdir(exist_ok=True)
    fan.screenshot(path=str(ARTIFACTS / "notifications.png"), full_page=True)

    # at the end the host reads how it went, there and on the Space's link later
    fan.get_by_role("link", name=re.compile("Evening show")).click()
    fan.get_by_role("button", name="Listen").click()
    expect(host.locator("#listeners")).to_have_text("1 listening")
    host.get_by_role("button", name="End the Space").click()
    analytics = host.get_by_role("region", name="How it went")
    expect(analytics).to_contain_text("Peak listeners1")
    host.screenshot(path=str(ARTIFACTS / "analytics.png"), full_page=True)
    host.reload()
    expect(host.locator("#notice")).to_contain_text("ended")
    expect(host.get_by_role("region", name="How it went")).to_contain_text("Unique listeners1")
    fan.goto(server.url + "/notifications")
    expect(items.first).to_have_text(re.compile("^@host's Space “Evening show” has ended."))
    expect(fan.get_by_role("region", name="How it went")).to_have_count(0)
