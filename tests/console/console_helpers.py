"""What the console's browser tests share: sign in, screenshots at phone and desktop width with
the horizontal-overflow check, and the page's script errors."""
from __future__ import annotations

from pathlib import Path
from typing import Any

WIDTHS = (390, 1400)


def watch_errors(page: Any) -> list[str]:
    """The page's uncaught script errors and console errors (an answer's HTTP status, which
    the console shows to its user, is not one)."""
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and not
            m.text.startswith("Failed to load resource") else None)
    return errors


def sign_in(page: Any, url: str, key: str) -> None:
    page.goto(url + "/")
    page.fill("#key", key)
    page.click("#login button[type=submit]")
    page.wait_for_selector("#nav a", timeout=15000)
    page.wait_for_selector("section[aria-busy=false]", timeout=20000)


def go(page: Any, screen: str) -> None:
    page.evaluate("h => { location.hash = h; }", screen)
    page.wait_for_selector(f"#screen-{screen.split('/')[0]}[aria-busy=false]", timeout=30000)


def shoot(page: Any, folder: Path, name: str) -> list[Path]:
    """A full-page screenshot at each width; fails if the page is wider than the window."""
    shots = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(150)  # the layout and the charts' resize
        scroll, inner = page.evaluate(
            "[document.documentElement.scrollWidth, window.innerWidth]")
        path = folder / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 1000
        assert scroll <= inner, f"{name} at {width} px: {scroll} px wide, overflows"
        shots.append(path)
    page.set_viewport_size({"width": 1400, "height": 900})
    return shots


def nav(page: Any) -> list[str]:
    return page.eval_on_selector_all("#nav a", "els => els.map(e => e.textContent)")
