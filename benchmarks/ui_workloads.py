"""The web UI's budget (issue 12): page times on the server, page weight, browser load event.

Run against a registry server seeded by ``workloads.seed_cards`` (``model-NNNNN``
names in repository ``seed``, uid ``UUID(int=i + 1)``): the list page over
every version, a search, a card page and the home page, each as the p50 of
keep-alive requests on loopback; the bytes of HTML + CSS + JS of the list and
card pages; and, when Debian's chromium is installed, the card page's load
event in a real browser (warm cache, as a user clicking around sees it).
"""

from __future__ import annotations

import re
import uuid
from functools import partial
from typing import Any

import httpx

from benchmarks._timing import p50_ms, timed
from benchmarks.workloads import BenchmarkError
from opsml_testing.chromium import CHROMIUM, CHROMIUM_ARGS


def _pages(total: int) -> dict[str, str]:
    card_uid = uuid.UUID(int=total).hex  # the newest seeded card
    return {
        "list": "/ui/model",
        "search": "/ui/model?q=model-00007",
        "card": f"/ui/model/{card_uid}",
        "home": "/ui/",
    }


def _get(client: httpx.Client, path: str, expect: str) -> httpx.Response:
    response = client.get(path)
    if response.status_code != 200 or expect not in response.text:
        raise BenchmarkError(f"GET {path} answered {response.status_code} without {expect!r}")
    return response


def page_weight(client: httpx.Client, path: str) -> int:
    """Uncompressed bytes of the page's HTML plus every stylesheet and script it loads."""
    html = client.get(path, headers={"Accept-Encoding": "identity"}).content
    assets = re.findall(rb'(?:href|src)="(/ui/static/[^"]+)"', html)
    return len(html) + sum(len(client.get(a.decode()).content) for a in assets)


def browser_load_ms(url: str, n: int) -> float | None:
    """p50 of the load event (from navigation start) of ``url`` in headless chromium."""
    if not CHROMIUM.exists():
        return None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    samples = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(url)  # warm the CSS and JS cache
            for _ in range(n):
                page.goto(url, wait_until="load")
                end = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
                samples.append(float(end) / 1000)
        finally:
            browser.close()
    return p50_ms(samples)


def ui_pages(url: str, n: int, total: int) -> dict[str, Any]:
    """Every UI number of the budget, against a server seeded with ``total`` versions."""
    pages = _pages(total)
    expects = {
        "list": "model-",
        "search": "model-00007",
        "card": "Versions of model-",
        "home": "Model cards",
    }
    out: dict[str, Any] = {}
    with httpx.Client(base_url=url, trust_env=False, timeout=30) as client:
        for name, path in pages.items():
            out[f"{name}_p50_ms"] = p50_ms(timed(partial(_get, client, path, expects[name]), n))
        out["list_weight_kb"] = page_weight(client, pages["list"]) / 1024
        out["card_weight_kb"] = page_weight(client, pages["card"]) / 1024
    out["card_load_event_ms"] = browser_load_ms(url + pages["card"], max(5, n // 4))
    return out


def rows(result: dict[str, Any], total: int, row: Any) -> list[Any]:
    """The table rows of :func:`ui_pages` (``row`` is ``run.Row``), with the issue's budgets."""
    load = result.get("card_load_event_ms")
    return [
        row(f"UI list page over {total:,} versions p50", "ms", result["list_p50_ms"], budget=20),
        row("UI card page p50", "ms", result["card_p50_ms"], budget=20),
        row("UI search (part of a name) p50", "ms", result["search_p50_ms"], budget=20),
        row("UI home page (counts, latest) p50", "ms", result["home_p50_ms"], budget=20),
        row("UI card page weight (HTML+CSS+JS)", "KB", result["card_weight_kb"], budget=150),
        row(
            "UI card page load event (chromium)",
            "ms",
            load,
            budget=300,
            note="" if load is not None else "no /usr/bin/chromium",
        ),
    ]
