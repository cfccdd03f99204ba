"""The web UI in a real browser, used as a new user would: first login and password change, the
Korea-Japan network with its date slider, a decision, a what-if, a consent granted, the log verified, and
the same network page with JavaScript off. Each step saves a screenshot (see docs/ui.md)."""

from __future__ import annotations

import importlib.util
import os
import re
from datetime import date

import pytest

if importlib.util.find_spec("playwright") is None:  # the fixtures say the same of a missing Chromium
    REASON = "Playwright is not installed: pip install playwright (never 'playwright install')"
    if os.environ.get("GSOMIA_REQUIRE_BROWSER") == "1":
        raise ImportError(f"{REASON} (GSOMIA_REQUIRE_BROWSER=1)")
    pytest.skip(REASON, allow_module_level=True)

from playwright.sync_api import expect

from .conftest import CONSENT, NEW_PASSWORD, Visit

TERMINATED, PENDING, SUSPENDED = "#D55E00", "#E69F00", "#CC79A7"  # the charts' state colours
EDGE = '#network g.agreement[data-agreement="KOR-JPN-GSOMIA"]'


def first_login(visit: Visit, name: str, shots: str = "") -> None:
    """Open the UI, be sent to the login page, log in with the one-time password, choose a new one."""
    page = visit.page
    visit.go("/ui")
    expect(page).to_have_url(re.compile(r"/ui/login\?next="))
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(visit.site.passwords[name])
    if shots:
        visit.shot(f"{shots}-login")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/ui/password$"))
    page.get_by_label("Current password").fill(visit.site.passwords[name])
    page.get_by_label("New password (at least").fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    if shots:
        visit.shot(f"{shots}-password")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")


def slide_to(visit: Visit, day: str) -> None:
    """Move the date slider to ``day`` (as a hand would: the slider's input event)."""
    slider = visit.page.locator("#day-slider")
    first = date.fromisoformat(str(visit.page.locator("#network-form").get_attribute("data-first")))
    slider.fill(str((date.fromisoformat(day) - first).days))
    expect(visit.page.locator("#day")).to_have_value(day)


def edge_is(visit: Visit, state: str, colour: str) -> None:
    expect(visit.page.locator(EDGE)).to_have_attribute("data-state", state)
    expect(visit.page.locator(EDGE + " path")).to_have_attribute("stroke", colour)


def test_a_new_officer_moves_the_slider_and_the_korea_japan_edge_turns_red(visit: Visit) -> None:
    page = visit.page
    first_login(visit, "olga", shots="01")
    expect(page.locator("#in-force")).to_contain_text("KOR-JPN-GSOMIA")
    visit.shot("02-dashboard")
    page.get_by_role("link", name="Network").click()
    expect(page.locator("#day-slider")).to_be_visible()
    page.get_by_label("counterfactual: every notice took effect").check()
    slide_to(visit, "2019-11-22")
    edge_is(visit, "notice-pending", PENDING)
    visit.shot("03-network-counterfactual-2019-11-22")
    slide_to(visit, "2019-11-23")
    edge_is(visit, "terminated", TERMINATED)
    row = page.locator('#agreement-states tr[data-agreement="KOR-JPN-GSOMIA"] td.state')
    expect(row).to_have_text("terminated")
    expect(page).to_have_url(re.compile(r"day=2019-11-23&world=counterfactual"))
    visit.shot("04-network-counterfactual-2019-11-23")
    page.get_by_label("what happened").check()  # what did happen that day: the disputed suspension
    edge_is(visit, "notice-suspended", SUSPENDED)
    page.get_by_role("link", name="Timeline").click()
    expect(page.locator("#timeline-KOR-JPN-GSOMIA svg")).to_be_visible()
    visit.shot("05-timeline")
    assert visit.errors == []


def test_an_officer_reads_a_decision_runs_a_what_if_and_records_a_release(visit: Visit) -> None:
    page = visit.page
    first_login(visit, "omar")
    page.get_by_role("link", name="Decide").click()
    page.get_by_label("Item").fill("K-MSL-1")
    page.get_by_label("Recipient").select_option("JPN")
    page.get_by_label("Day").fill("2019-11-23")
    page.get_by_label("World").select_option("counterfactual")
    page.get_by_role("button", name="Decide").click()
    expect(page.locator("#verdict")).to_contain_text("Allowed")
    expect(page.locator("#route-text")).to_have_text("KOR → USA → JPN")
    expect(page.locator("#route svg g.hop-party")).to_have_count(3)
    expect(page.locator("#reasons tbody tr")).to_have_count(8)
    expect(page.locator('#reasons tr[data-rule="marking"]')).to_contain_text("JP-GOKUHI")
    expect(page.locator("#alternatives")).to_contain_text("KOR-JPN-GSOMIA")
    expect(page.locator("#alternatives")).to_contain_text("agreement-in-force")
    expect(page.locator("#decision")).to_contain_text("極秘")
    visit.shot("06-decision")

    page.get_by_role("link", name="What if").click()
    page.get_by_label("Change", exact=True).select_option("terminate")
    page.get_by_label("Agreement", exact=True).select_option("KOR-JPN-GSOMIA")
    page.get_by_label("On", exact=True).fill("2019-11-23")
    page.get_by_role("button", name="Compare").click()
    chart = page.locator("#impact-chart svg")
    expect(chart).to_be_visible()
    rerouted = int(str(chart.locator('g.outcome[data-kind="rerouted"]').get_attribute("data-count")))
    lost = int(str(chart.locator('g.outcome[data-kind="lost"]').get_attribute("data-count")))
    assert rerouted > 0
    assert lost > 0
    expect(page.locator('#impact-counts tr[data-outcome="rerouted"]')).to_contain_text(str(rerouted))
    visit.shot("07-what-if")

    page.get_by_role("link", name="Items").click()
    expect(page.locator('#items tr[data-item="K-MSL-1"]')).to_contain_text("군사II급비밀")
    visit.shot("08-items")
    page.get_by_role("link", name="Releases").click()
    form = page.locator("#release-form")
    form.get_by_label("Item").fill("K-BODY-1")
    form.get_by_label("To").select_option("JPN")
    form.get_by_label("Day").fill("2019-11-22")
    form.get_by_role("button", name="Decide and record").click()
    expect(page.locator(".notice")).to_contain_text("was recorded")
    expect(page.locator("#releases tbody tr.ok")).to_contain_text("K-BODY-1")
    visit.shot("09-releases")
    assert visit.errors == []


def test_legal_grants_a_waiting_consent(visit: Visit) -> None:
    page = visit.page
    first_login(visit, "lena")
    expect(page.locator("#waiting")).to_contain_text(CONSENT)
    page.get_by_role("link", name="Consents").click()
    waiting = page.locator(f'article[data-consent="{CONSENT}"]')
    expect(waiting).to_contain_text("K-NAV-1")
    visit.shot("10-consent-inbox")
    waiting.locator("form.grant").get_by_label("Until").fill("2020-12-31")
    waiting.get_by_role("button", name="Grant").click()
    expect(page.locator(".notice")).to_contain_text("granted")
    expect(page.locator(f'#decided tr[data-consent="{CONSENT}"]')).to_have_attribute("data-status", "granted")
    visit.shot("11-consent-granted")
    view = visit.site.services.consents.get(CONSENT)
    assert view.status == "granted"
    assert view.terms["until"] == "2020-12-31"
    assert visit.errors == []


def test_an_auditor_verifies_the_log_and_reads_an_inclusion_proof(visit: Visit) -> None:
    page = visit.page
    first_login(visit, "aki")
    page.get_by_role("link", name="Log").click()
    size = visit.site.services.audit.head().size
    expect(page.locator("#head-size")).to_have_text(f"{size} leaves")
    page.get_by_role("button", name="Verify now").click()
    result = page.locator('#verify-result p[data-ok="true"]')
    expect(result).to_contain_text("no fault")
    expect(result).to_contain_text(f"{size} leaves")
    expect(page.locator("#verify-progress")).to_be_hidden()
    expect(page.get_by_role("button", name="Verify now")).to_be_enabled()
    visit.shot("12-log-verified")
    page.locator('tr[data-leaf="3"] a').click()
    expect(page.locator("#proof-check")).to_have_class("ok")
    visit.shot("13-inclusion-proof")
    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator("#log-head")).to_contain_text("by aki")
    assert visit.errors == []


def test_with_javascript_off_the_network_form_still_moves_the_day(visit_no_js: Visit) -> None:
    visit = visit_no_js
    page = visit.page
    first_login(visit, "otto")
    page.get_by_role("link", name="Network").click()
    expect(page.locator("#day-slider")).to_be_hidden()
    page.get_by_label("counterfactual: every notice took effect").check()
    page.get_by_label("Day", exact=True).fill("2019-11-23")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"world=counterfactual"))
    edge_is(visit, "terminated", TERMINATED)
    visit.shot("14-network-without-javascript")
