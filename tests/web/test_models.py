"""The Models view in a real browser: versions, figures, activation with the token."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import expect

from tests.app.conftest import republish
from tests.web.conftest import TOKEN
from tests.web.strokes import draw_digit


def _keep_token(page, value: str) -> None:
    form = page.locator("#view-models .token-form")
    form.get_by_label("API token").fill(value)
    form.get_by_role("button", name="Keep for this tab").click()
    expect(form.locator('[data-out="token-state"]')).to_have_text("A token is kept for this tab.")


def test_every_version_with_its_figures(page, web):
    models = httpx.get(f"{web.base}/models").json()
    page.goto("/#models")
    for model in models:
        card = page.locator(f'article.model:has(h2[id="model-{model["name"]}"])')
        expect(card.locator("tbody th")).to_have_count(len(model["versions"]))
        for version in model["versions"]:
            figures = version.get("figures") or []
            label = f"Figures of {model['name']} v{version['version']}"
            if not figures:  # the store has none (yet): the page says so, and offers none
                expect(card.get_by_role("button", name=label)).to_have_count(0)
                continue
            card.get_by_role("button", name=label).click()
            images = card.locator("tr.figures:visible img")
            expect(images).to_have_count(len(figures))
            for index in range(len(figures)):
                page.wait_for_function(
                    "i => i.complete && i.naturalWidth > 0", arg=images.nth(index).element_handle()
                )


def test_activate_and_roll_back_with_the_token(page, web, mnist):
    version = republish(web.store, "classifier")
    images = mnist[1][0]
    page.goto("/#models")
    _keep_token(page, TOKEN)
    page.get_by_role("button", name=f"Activate v{version} of classifier").click()
    expect(page.locator("#models-status")).to_contain_text(f"classifier v{version} is active")
    page.get_by_role("tab", name="Draw").click()
    draw_digit(page, page.locator('[data-pad="a"] canvas'), images[0])
    model = page.locator('[data-answer="a"] [data-out="digit-model"]')
    expect(model).to_have_text(f"classifier v{version}", timeout=10_000)
    # roll back to v1: the answers name it (the Draw view asks again when shown)
    page.get_by_role("tab", name="Models").click()
    page.get_by_role("button", name="Roll back to v1 of classifier").click()
    expect(page.locator("#models-status")).to_contain_text("classifier v1 is active")
    for _ in range(20):  # the API serves the version within a reload interval
        page.get_by_role("tab", name="Draw").click()
        if re.fullmatch("classifier v1", model.inner_text()):
            break
        page.wait_for_timeout(300)
        page.get_by_role("tab", name="Models").click()
    expect(model).to_have_text("classifier v1")
    assert "token" not in page.url and TOKEN not in page.url


def test_a_wrong_or_missing_token_is_explained_and_changes_nothing(page, web, console):
    console.allow(401)
    before = httpx.get(f"{web.base}/models").json()
    page.goto("/#models")
    buttons = page.get_by_role("button", name=re.compile(r"^(Activate|Roll back to) v\d+ of "))
    if buttons.count() == 0:
        republish(web.store, "vae")
        page.reload()
    buttons.first.click()  # no token yet
    status = page.locator("#models-status")
    expect(status).to_contain_text("This needs the API token")
    expect(page.locator("#view-models .token-form input")).to_be_focused()
    _keep_token(page, "not-the-token")
    buttons.first.click()
    expect(status).to_contain_text("The API refused the token (wrong token)")
    expect(status).to_have_class(re.compile("error"))
    after = httpx.get(f"{web.base}/models").json()
    assert [m["active"] for m in after] == [m["active"] for m in before]
