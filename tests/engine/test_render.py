"""Sandboxed rendering of instructor Markdown."""

from __future__ import annotations

import pytest

from engine.render import RenderError, internal_links, md_parser, render_markdown

VARS = {"tenant": {"list": ["first", "second"], "name": "Contoso Ltd", "mx_host": "contoso-com.mail.protection.outlook.com",
                   "sites": {"hq-office": {"public_ip": "203.0.113.10"}}}}


def test_variables_render() -> None:
    out = render_markdown("Host `{{ tenant.mx_host }}`, IP {{ tenant.sites['hq-office'].public_ip }}", VARS)
    assert out == "Host `contoso-com.mail.protection.outlook.com`, IP 203.0.113.10"


@pytest.mark.parametrize(
    ("source", "message", "line"),
    [
        ("a\nb {{ tenant.nope }}\n", "unknown template variable", 2),
        ("{{ tenant.name\n", "template syntax error", 1),
        ("x\n{{ ''.__class__.__mro__[1].__subclasses__() }}", "not allowed in a template", 2),
        ("{{ tenant.__init__ }}", "not allowed in a template", 1),
        ("{% include '/etc/passwd' %}", "template error", 1),
        ("{{ range(10) }}", "unknown template variable", 1),
        ("{{ cycler }}", "unknown template variable", 1),
    ],
)
def test_untrusted_templates_fail_with_a_line(source: str, message: str, line: int) -> None:
    with pytest.raises(RenderError) as info:
        render_markdown(source, VARS)
    assert info.value.message.startswith(message)
    assert info.value.line == line


def test_huge_output_is_refused() -> None:
    with pytest.raises(RenderError):
        render_markdown("{% for a in 'x' * 600 %}{% for b in 'x' * 1000 %}xx{% endfor %}{% endfor %}", VARS)


def test_markdown_has_tables_and_no_raw_html() -> None:
    html = md_parser().render("| a | b |\n|---|---|\n| 1 | 2 |\n\n<script>alert(1)</script>\n")
    assert "<table>" in html
    assert "<script>" not in html


def test_internal_links_are_found_with_lines() -> None:
    links = list(internal_links("intro\n\nsee [ports](lesson:l1-ports) and\n[MX](glossary:mx) [web](https://x)\n"))
    assert [(link.scheme, link.target, link.line) for link in links] == [("lesson", "l1-ports", 3), ("glossary", "mx", 4)]


@pytest.mark.parametrize(
    "source",
    [
        "plain {{ tenant.name }} and {{tenant.sites['hq-office'].public_ip}} and {{ tenant[\"mx_host\"] }}",
        "{{ tenant.name | upper }} {% if true %}x{% endif %}",
        "{{ tenant.sites }}",
        "A {{ tenant.sites['hq-office'] }} B {{ tenant.name }}",
        "A {{ tenant.list[0] }} B {{ tenant.name }}",
        "A {{ tenant.list[ 1 ] }} B {{ tenant.list[0]}}",
    ],
)
def test_fast_path_and_full_jinja_agree(source: str) -> None:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    expected = SandboxedEnvironment(undefined=StrictUndefined).from_string(source).render(**VARS)
    assert render_markdown(source, VARS) == expected


def test_fast_path_takes_list_indexes_and_leaves_errors_to_jinja(monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.render

    def no_jinja(_source: str) -> None:
        raise AssertionError("the fast path should have rendered this")

    with monkeypatch.context() as patch:
        patch.setattr(engine.render._ENV, "from_string", no_jinja)
        assert render_markdown("{{ tenant.list[1] }} at {{ tenant.mx_host }}", VARS) == \
            "second at contoso-com.mail.protection.outlook.com"
    with pytest.raises(RenderError, match="unknown template variable"):
        render_markdown("line\n{{ tenant.list[7] }}", VARS)
