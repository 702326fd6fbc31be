"""The Draw view in a real browser: digits drawn with the mouse and dropped as files."""

from __future__ import annotations

import base64
import re

import httpx
import numpy as np
import pytest
from playwright.sync_api import expect

from tests.helpers import image_bytes
from tests.web.strokes import draw_digit


def _answer(page, pad: str, name: str):
    return page.locator(f'[data-answer="{pad}"] [data-out="{name}"]')


@pytest.fixture(scope="session")
def known_digits(web, mnist):
    """Test digits the small models read right and surely (asked directly), one per label:
    the tests are about the page, not about how well small models read."""
    images, labels = mnist[1]
    chosen: dict[int, np.ndarray] = {}
    for image, label in zip(images, labels, strict=True):
        if len(chosen) == 10:
            break
        if int(label) in chosen:
            continue
        png = image_bytes(image)
        answer = httpx.post(f"{web.base}/classify", files={"image": png}).json()
        reading = httpx.post(f"{web.base}/read", files={"image": png}).json()
        sure = answer["digit"] == int(label) and max(answer["probabilities"]) > 0.9
        if sure and reading["value"] == str(label) and reading["confidence"] > 0.8:
            chosen[int(label)] = image
    return chosen


@pytest.fixture(scope="session")
def known_pair(web, known_digits):
    """Two digits whose sum the API gets right and surely, a two-digit sum if it can."""
    pairs = sorted(
        ((a, b) for a in known_digits for b in known_digits if a != b),
        key=lambda pair: -(pair[0] + pair[1]),
    )
    for a, b in pairs:
        files = {"a": image_bytes(known_digits[a]), "b": image_bytes(known_digits[b])}
        answer = httpx.post(f"{web.base}/add", files=files).json()
        if answer["result"] == a + b and answer["confidence"] > 0.8:
            return a, b
    raise AssertionError("the small models get no sum right")


def test_drawn_digit_is_classified_with_what_the_model_received(page, known_digits):
    page.goto("/")
    expect(page.locator("#draw-status")).to_contain_text("Draw a digit")
    digit = 7 if 7 in known_digits else sorted(known_digits)[0]
    draw_digit(page, page.locator('[data-pad="a"] canvas'), known_digits[digit])
    expect(_answer(page, "a", "digit")).to_have_text(str(digit))
    expect(_answer(page, "a", "digit-model")).to_have_text(re.compile(r"classifier v\d+"))
    expect(_answer(page, "a", "bars").locator("li")).to_have_count(10)
    for name in ("received", "reconstruction"):  # the 28x28 input and the autoencoder's
        image = _answer(page, "a", name)
        expect(image).to_have_attribute("src", re.compile("^blob:"))
        page.wait_for_function(
            "i => i.complete && i.naturalWidth === 112", arg=image.element_handle()
        )
    expect(_answer(page, "a", "number")).to_have_text(re.compile(r"^\d$"))
    # undo every stroke: the pad is empty again and the answers are cleared
    page.locator('[data-pad="a"] [data-action="clear"]').click()
    expect(_answer(page, "a", "digit")).to_have_text("–")


def test_two_drawn_digits_and_their_sum(page, known_digits, known_pair):
    a, b = known_pair
    page.goto("/")
    draw_digit(page, page.locator('[data-pad="a"] canvas'), known_digits[a])
    draw_digit(page, page.locator('[data-pad="b"] canvas'), known_digits[b])
    expect(_answer(page, "a", "digit")).to_have_text(str(a))
    expect(_answer(page, "b", "digit")).to_have_text(str(b))
    pair = page.locator(".pair")
    expect(pair.locator('[data-out="add"]')).to_have_text(re.compile(rf"(^|= ){a + b} \(p="))
    expect(pair.locator('[data-out="multiply"]')).to_have_text(re.compile(r"\d+ \(p="))
    expect(pair.locator('[data-out="compare"]')).to_have_text(re.compile(r"^(yes|no) \(p="))
    walk = pair.locator('[data-out="interpolation"]')
    expect(walk).to_have_attribute("src", re.compile("^blob:"))
    page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=walk.element_handle())
    page.get_by_role("button", name="Sample 16 digits").click()
    samples = page.locator("#samples")
    expect(samples).to_have_attribute("src", re.compile("^blob:"))
    page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=samples.element_handle())


def _drop(page, pad: str, data: bytes, name: str, mime: str) -> None:
    page.evaluate(
        """([selector, encoded, name, mime]) => {
            const bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: mime }));
            const target = document.querySelector(selector);
            for (const type of ["dragenter", "dragover", "drop"]) {
                const options = { dataTransfer: transfer, bubbles: true, cancelable: true };
                target.dispatchEvent(new DragEvent(type, options));
            }
        }""",
        [f'[data-pad="{pad}"]', base64.b64encode(data).decode(), name, mime],
    )


def test_dropped_files_and_a_whole_number(page, known_digits):
    page.goto("/")
    digit = sorted(known_digits)[0]
    _drop(page, "a", image_bytes(255 - known_digits[digit]), f"{digit}.png", "image/png")
    expect(_answer(page, "a", "digit")).to_have_text(str(digit))
    # a whole number in the file input (the keyboard's way in): the reader boxes its digits
    shown = sorted(known_digits)[-3:]
    gap = np.full((28, 10), 255, np.uint8)
    parts = [part for d in shown for part in (255 - known_digits[d], gap)]
    number = np.concatenate([gap, *parts], axis=1)
    page.locator('[data-pad="b"] input[type="file"]').set_input_files(
        files=[{"name": "number.png", "mimeType": "image/png", "buffer": image_bytes(number)}]
    )
    reading = _answer(page, "b", "number")
    expect(reading).to_have_text("".join(map(str, shown)))
    expect(_answer(page, "b", "reading")).to_have_attribute(
        "aria-label", "The reader found " + " ".join(map(str, shown))
    )


def test_empty_pads_send_nothing_and_a_non_image_gets_the_apis_reason(page, console):
    console.allow(422)
    sent = []
    page.on("request", lambda request: "/static/" not in request.url and sent.append(request.url))
    page.goto("/")
    page.locator('[data-pad="a"] [data-action="clear"]').click()
    page.wait_for_timeout(600)
    assert [url for url in sent if not url.endswith("/")] == []  # the page itself, nothing more
    expect(page.locator("#draw-status")).to_contain_text("Draw a digit or a number")
    _drop(page, "a", b"just some text, no picture", "notes.txt", "text/plain")
    status = page.locator('[data-pad="a"] .pad-status')
    expect(status).to_contain_text("is not an image")
    expect(_answer(page, "a", "digit")).to_have_text("–")
    # the page still works: clearing and drawing again is answered
    page.locator('[data-pad="a"] [data-action="clear"]').click()
    expect(status).to_have_text("")


def test_phone_width_and_keyboard(browser, web, console):
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=web.base)
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and console.errors.append(m.text))
    page.on("pageerror", lambda error: console.errors.append(str(error)))
    page.goto("/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at phone width ({width}px)"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "tab-draw"
    page.keyboard.press("ArrowRight")
    expect(page.locator("#view-models")).to_be_visible()
    assert page.evaluate("document.activeElement.id") == "tab-models"
    from tests.web.conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto("/#draw")
    page.screenshot(path=str(SCREENSHOTS / "phone-width-draw.png"), full_page=True)
    context.close()
    assert not console.unexpected(), console.errors
