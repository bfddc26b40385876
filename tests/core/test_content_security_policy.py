"""Every page carries a Content-Security-Policy that allows local files only, and no page needs
more: no inline script, no event-handler attribute, no inline style anywhere in the console."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from vosadmin.core.demo import create_demo_data

pytestmark = pytest.mark.django_db


class InlineCodeFinder(HTMLParser):
    """Collects what a strict CSP would block: inline scripts, on*= handlers, style attributes
    and <style> elements; and the links of the page."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked: list[str] = []
        self.links: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and "src" not in names and names.get("type") != "application/json":
            self._in_script = True
        if tag == "style":
            self.blocked.append("<style>")
        self.blocked += [f"<{tag} {name}=…>" for name in names if name.startswith("on")]
        if "style" in names:
            self.blocked.append(f"<{tag} style=…>")
        if tag == "a" and (href := names.get("href")) and href.startswith("/"):
            self.links.append(href)

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.blocked.append(f"<script>{data.strip()[:40]}…")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False


def inspect(content: bytes) -> InlineCodeFinder:
    finder = InlineCodeFinder()
    finder.feed(content.decode())
    return finder


def console_pages(client) -> dict[str, bytes]:
    """Every console page reachable from the home page in two clicks: URL → content."""
    pages: dict[str, bytes] = {}
    to_visit = ["/"]
    for _depth in range(3):
        found = []
        for url in to_visit:
            if url in pages or url.startswith(("/api/", "/logout/")):
                continue
            response = client.get(url)
            assert response.status_code == 200, url
            if not response["Content-Type"].startswith("text/html"):
                continue  # CSV exports
            pages[url] = response.content
            found += inspect(response.content).links
        to_visit = [url.split("#")[0] for url in found]
    return pages


def test_the_policy_allows_only_local_files(client) -> None:
    policy = client.get("/login/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy


def test_api_responses_carry_the_policy_too(admin_api) -> None:
    assert "script-src 'self'" in admin_api.get("/api/v1/phones/")["Content-Security-Policy"]


def test_no_console_page_has_inline_code(admin_client) -> None:
    create_demo_data()
    pages = console_pages(admin_client)
    assert len(pages) > 20
    pages["/no-such-page/"] = admin_client.get("/no-such-page/").content
    for url, content in pages.items():
        assert inspect(content).blocked == [], url


def test_the_login_page_has_no_inline_code(client) -> None:
    assert inspect(client.get("/login/").content).blocked == []


def test_the_api_docs_load_their_script_from_a_file(admin_client) -> None:
    page = admin_client.get("/api/docs/")
    assert inspect(page.content).blocked == []
    script = admin_client.get("/api/docs/", {"script": ""})
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()
