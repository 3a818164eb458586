"""Accessibility checks that need no browser: the colours of app.css meet WCAG AA (text 4.5:1,
field and button borders 3:1), focus stays visible, and the forms' controls have names."""

import re
from pathlib import Path

import pytest

CSS = (Path(__file__).parents[2] / "ui" / "static" / "mail" / "app.css").read_text()


def _hex(value):
    value = value.strip().lstrip("#")
    if len(value) == 3:
        value = "".join(char * 2 for char in value)
    return tuple(int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))


def _luminance(color):
    def channel(c):
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in _hex(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one, other):
    high, low = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


VARIABLES = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{3,6})", CSS))


def _resolve(value):
    value = value.strip()
    match = re.fullmatch(r"var\(--([a-z-]+)\)", value)
    if match:
        return VARIABLES.get(match.group(1))
    if re.fullmatch(r"#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6}", value):
        return value
    if value == "inherit":
        return None
    return {"white": "#ffffff", "black": "#000000"}.get(value)


def _rules():
    body = re.sub(r"/\*.*?\*/", "", CSS, flags=re.S)
    body = re.sub(r"@media[^{]*\{", "", body)  # the rules inside count the same
    for selector, declarations in re.findall(r"([^{}]+)\{([^{}]*)\}", body):
        props = dict(
            (name.strip(), value.strip())
            for name, value in re.findall(r"([a-z-]+)\s*:\s*([^;]+)", declarations)
        )
        yield selector.strip(), props


def test_the_contrast_helper_knows_the_wcag_figures():
    assert round(contrast("#000", "#fff"), 1) == 21.0
    assert round(contrast("#777777", "#ffffff"), 2) == 4.48  # the classic near miss


@pytest.mark.parametrize(
    "text, background",
    [
        ("fg", "bg"),
        ("muted", "bg"),
        ("muted", "soft"),
        ("accent", "bg"),
        ("accent", "soft"),
        ("danger", "bg"),
        ("danger", "soft"),
    ],
)
def test_the_palettes_text_colours_reach_4_5_to_1(text, background):
    ratio = contrast(VARIABLES[text], VARIABLES[background])
    assert ratio >= 4.5, f"--{text} on --{background} is {ratio:.2f}:1"


def test_every_rule_that_sets_both_colours_reaches_4_5_to_1():
    checked = 0
    for selector, props in _rules():
        background = props.get("background") or props.get("background-color")
        color = props.get("color")
        if not (background and color):
            continue
        fg, bg = _resolve(color), _resolve(background.split()[0])
        if fg is None or bg is None:
            continue
        checked += 1
        ratio = contrast(fg, bg)
        assert ratio >= 4.5, f"{selector}: {color} on {background} is {ratio:.2f}:1"
    assert checked >= 8  # the check saw the rules it is about


def test_field_and_button_borders_reach_3_to_1():
    for selector, props in _rules():
        if not re.search(r"\b(input|select|textarea|button)\b", selector):
            continue
        border = props.get("border", "")
        match = re.search(r"(var\(--[a-z-]+\)|#[0-9a-fA-F]{3,6})", border)
        if not match or border.startswith("0"):
            continue
        color = _resolve(match.group(1))
        ratio = contrast(color, VARIABLES["bg"])
        assert ratio >= 3, f"{selector}: border {border} is {ratio:.2f}:1 against the page"


def test_focus_is_visible():
    assert re.search(r":focus-visible\s*\{\s*outline:\s*3px solid var\(--focus\)", CSS)
    assert contrast(VARIABLES["focus"], VARIABLES["bg"]) >= 3
    assert "outline:none" not in CSS.replace(" ", "") and "outline:0" not in CSS.replace(" ", "")


@pytest.mark.django_db
def test_every_control_of_the_reply_and_compose_forms_has_a_name(staff_client, inbox):
    from messages.tests.factories import MessageFactory, ThreadFactory

    parent = MessageFactory(inbox=inbox, thread=ThreadFactory(inbox=inbox))
    for url in (f"/threads/{parent.thread.public_id}", "/compose", "/members"):
        page = staff_client.get(url).content.decode()
        labelled = set(re.findall(r'<label[^>]*for="([^"]+)"', page))
        for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", page):
            if re.search(r'type="(hidden|submit|checkbox|radio)"', tag):
                continue
            control = re.search(r'id="([^"]+)"', tag)
            named = "aria-label=" in tag or (control and control.group(1) in labelled)
            assert named, f"{url}: {tag} has no accessible name"
