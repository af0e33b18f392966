"""The lab screen end to end: the tenant really runs (free ports), the device runs to a failing grade
and, after fixing the settings in the form, to a passing one; the trainee's own client shows up in
the transcript and can be graded; attempts and hints are stored."""

from __future__ import annotations

import asyncio
import smtplib

from textual.widgets import Select, TabbedContent, TextArea

from course.messages import Navigate
from course.screens.lab import LabScreen
from course.widgets.grade_panel import GradePanel
from course.widgets.transcript import Transcript
from engine.services import Target
from tests.course.helpers import SIZE, make_app, screen_text, settle


def _grade_text(screen: LabScreen) -> str:
    return str(screen.query_one(GradePanel).render())


async def test_lab_fails_then_passes_after_fixing_the_form() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "down", "down", "down")  # the lab is the fifth item of L1
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LabScreen)
        assert screen.session is not None and "Tenant running" in screen_text(app)
        assert "Scan to inbox over Direct Send" in screen_text(app)
        security = screen.query_one("#field-security", Select)
        assert [value for _, value in security._options if value] == ["none", "starttls"]  # what a printer can do

        await pilot.press("ctrl+r")
        await settle(pilot)
        transcript = screen.query_one(Transcript)
        transcript.flush()
        assert transcript.line_count > 10
        assert screen.query_one(TabbedContent).active == "tab-grade"
        grade = screen.query_one(GradePanel)
        assert screen.session.lab.id == "scan-to-inbox"
        assert screen.attempts == 1
        assert "NOT PASSED" in screen_text(app) and "✗" in screen_text(app)

        await pilot.press("ctrl+e")  # a hint
        await settle(pilot)
        await pilot.press("ctrl+o", "ctrl+o")  # grade → admin → settings
        assert screen.query_one(TabbedContent).active == "tab-config"
        security.focus()
        await pilot.press("enter", "down", "enter")  # STARTTLS
        assert security.value == "starttls"
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert "PASSED" in screen_text(app) and "NOT PASSED" not in screen_text(app)
        assert grade is screen.query_one(GradePanel)
        assert any("TLS  TLS TLSv1" in line for line in transcript.plain)
        assert app.ctx is not None
        attempts = app.ctx.service.store.lab_attempts(app.ctx.learner_id, "scan-to-inbox")
        assert [a.passed for a in attempts] == [False, True]
        assert attempts[1].hints_used == 1
        assert attempts[1].config["security"] == "starttls"
        await pilot.press("escape")
        await settle(pilot)
        assert "✓ Lab: Scan to inbox" in screen_text(app)


async def test_raw_yaml_toggle_carries_the_settings_and_reports_errors() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.post_message(Navigate(Target("lab", "scan-to-inbox", "lab")))
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LabScreen)
        await pilot.press("ctrl+y")
        editor = screen.query_one("#config-yaml", TextArea)
        assert screen.yaml_mode and "security: none" in editor.text
        editor.text = editor.text.replace("port: 25", "port: [25")
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert screen.attempts == 0  # refused before running
        editor.text = editor.text.replace("port: [25", "port: 25").replace("security: none", "security: starttls")
        await pilot.press("ctrl+y")
        assert not screen.yaml_mode and screen.query_one("#field-security", Select).value == "starttls"


async def test_own_client_sessions_appear_live_and_can_be_graded() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.post_message(Navigate(Target("lab", "scan-to-inbox", "lab")))
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LabScreen) and screen.session is not None
        mx = next(e for e in screen.session.endpoints() if e.name == "mx")
        host, port = mx.listen.rsplit(":", 1)
        assert mx.listen in screen_text(app) or "swaks" in screen.query_one("#lab-client").source

        def send() -> None:
            with smtplib.SMTP(host, int(port), source_address=("127.0.0.10", 0), timeout=10) as client:
                client.starttls()
                client.sendmail("scanner@contoso.com", ["megan.bowen@contoso.com"],
                                "From: scanner@contoso.com\r\nSubject: scan\r\n\r\nhello\r\n")

        await asyncio.to_thread(send)
        await settle(pilot)
        transcript = screen.query_one(Transcript)
        transcript.flush()
        assert transcript.line_count > 5
        assert any(line.endswith("STARTTLS") for line in transcript.plain)
        assert any(" c    ehlo " in line.lower() for line in transcript.plain), list(transcript.plain)
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert "PASSED" in screen_text(app) and "NOT PASSED" not in screen_text(app)


async def test_admin_shell_runs_cmdlets_against_the_lab_tenant() -> None:
    from textual.widgets import Input, RichLog

    from course.widgets.admin_shell import AdminShell

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.post_message(Navigate(Target("lab", "scan-to-inbox", "lab")))
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LabScreen)
        await pilot.press("ctrl+o", "ctrl+o", "ctrl+o")
        assert screen.query_one(TabbedContent).active == "tab-admin"
        shell = screen.query_one(AdminShell)
        shell.query_one(Input).focus()
        await pilot.press(*"Get-TransportConfi", "right")  # → accepts the suggested completion
        assert shell.query_one(Input).value == "Get-TransportConfig"
        await pilot.press("enter")
        await settle(pilot)
        log = "\n".join(strip.text for strip in shell.query_one(RichLog).lines)
        assert "PS> Get-TransportConfig" in log and "SmtpClientAuthenticationDisabled" in log
        await pilot.press(*"Get-Nothing", "enter")
        await settle(pilot)
        log = "\n".join(strip.text for strip in shell.query_one(RichLog).lines)
        assert "Get-Nothing" in log.split("PS> Get-Nothing", 1)[1]  # the error names the command
