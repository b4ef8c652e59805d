#!/usr/bin/env python3
"""How soon the console's first screen is there, from the local service, in Debian's chromium
(Playwright): the sign-in form of a fresh tab (`GET /`, its CSS and modules), then, with the
key kept in the tab, the Rules screen of the active rule set rendered, both by the page's own clock
(`performance` marks app.js sets: from the navigation's start to the form; from the click on
sign-in to the screen rendered), so the browser's start-up is not counted. Each round is a new browser context (nothing cached); the ACME rule set
is the one shown.

usage: .venv/bin/python bench/console_first_screen.py [--rounds 7] [--ruleset rulesets/acme]

Prints the median and worst of each, in milliseconds; asserts nothing about time.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "api"))

from svc_helpers import ServerThread, archive, make_service  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--ruleset", default=str(ROOT / "rulesets" / "acme"))
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    tmp = tempfile.mkdtemp(prefix="ordinance-bench-")
    app, keys = make_service(f"sqlite:///{tmp}/o.db", Path(tmp) / "cache")
    with ServerThread(app) as server, sync_playwright() as p:
        import httpx

        admin = httpx.Client(base_url=server.url, timeout=60,
                             headers={"Authorization": f"Bearer {keys['admin']}"})
        info = admin.post("/v1/rulesets", content=archive(Path(args.ruleset)),
                          headers={"Content-Type": "application/gzip"}).json()
        admin.post(f"/v1/rulesets/{info['name']}/{info['digest']}/activate")
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        login, rules, counts = [], [], 0
        for _ in range(args.rounds + 1):  # the first round warms the service up
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            page.goto(server.url + "/")
            page.wait_for_selector("#login #key")
            page.fill("#key", keys["analyst"])
            page.click("#login button[type=submit]")
            page.wait_for_selector("#screen-rules[aria-busy=false] #packs", state="attached")
            counts = page.eval_on_selector_all("#packs .rule", "els => els.length")
            # the page's own clock: from the navigation's start (performance's time origin)
            # to the form, and from the click on sign-in to the rules rendered (app.js marks)
            marks = page.evaluate("Object.fromEntries(performance.getEntriesByType('mark')"
                                  ".map(m => [m.name, m.startTime]))")
            login.append(marks["ordinance:login"])
            rules.append(marks["ordinance:screen:rules"] - marks["ordinance:sign-in"])
            context.close()
        browser.close()
    login, rules = login[1:], rules[1:]
    print(f"{info['name']}: {counts} rules on the Rules screen; {args.rounds} rounds, "
          "each a fresh browser context")
    print(f"sign-in form (GET / to the form):        median {statistics.median(login):6.1f} ms, "
          f"worst {max(login):6.1f} ms")
    print(f"Rules screen (sign in to rules rendered): median {statistics.median(rules):6.1f} ms, "
          f"worst {max(rules):6.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
