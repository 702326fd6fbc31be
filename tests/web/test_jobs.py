"""The Jobs view in a real browser: a form from the job schema, a job cancelled while
queued, and a tiny real training job followed to its end by a real Celery worker."""

from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from tests.web.conftest import TOKEN


def _start(page, name: str, kind: str | None = None, **params) -> None:
    form = page.locator("#job-form")
    form.get_by_label("Model name").fill(name)
    if kind:
        form.get_by_label("Kind").select_option(kind)
    for key, value in params.items():
        form.locator(f'[name="param-{key}"]').fill(str(value))
    form.get_by_role("button", name="Start training").click()


def test_a_job_from_the_form_cancelled_then_one_followed_to_its_end(page, worker):
    page.goto("/#jobs")
    expect(page.locator("#job-params legend")).to_contain_text("Parameters of a classifier")
    tokens = page.locator("#view-jobs .token-form")
    tokens.get_by_label("API token").fill(TOKEN)
    tokens.get_by_role("button", name="Keep for this tab").click()
    state = page.locator('[data-out="job-state"]')
    # a new name with a kind, cancelled as soon as the page shows it
    _start(page, "web-cancelled", "classifier", epochs=1, train_limit=1000)
    expect(state).to_contain_text(re.compile(r"web-cancelled: (queued|running)"))
    page.get_by_role("button", name="Cancel the job").click()
    # queued, or already running if the worker was quick: a running job stops at its next
    # batch, once TensorFlow has loaded in the worker
    expect(state).to_contain_text("web-cancelled: cancelled", timeout=90_000)
    expect(page.get_by_role("button", name="Cancel the job")).to_be_disabled()
    # the worker is ready (its log says so) before the job that must run
    deadline = time.monotonic() + 90
    while " ready." not in worker.read_text():
        assert time.monotonic() < deadline, worker.read_text()[-3000:]
        time.sleep(0.5)
    _start(page, "web-tiny", "classifier", epochs=2, train_limit=1000)
    expect(state).to_contain_text(re.compile("web-tiny: (queued|running)"))
    expect(state).to_contain_text("succeeded", timeout=240_000)
    expect(state).to_contain_text("epoch 2 of 2")
    expect(state).to_contain_text("published web-tiny v1 (active)")
    assert page.locator('[data-out="job-progress"]').evaluate("p => p.value") == 1
    curve = page.locator('[data-out="job-curve"]')
    expect(curve).to_have_attribute("aria-label", re.compile(r"^Loss per epoch, 2 epochs; last: "))
    page.get_by_role("button", name="Show recent jobs").click()
    expect(page.locator("#recent-list li")).to_have_count(2)
