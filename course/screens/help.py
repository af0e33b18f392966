"""Provides the help screen: every key of every screen, and the plain-text paths for screen readers."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

__all__ = ["HELP", "HelpScreen"]

HELP = """\
# relaylab help

relaylab teaches how devices and apps send mail through Microsoft 365 / Exchange Online.
Everything works from the keyboard; the mouse is optional. The footer always shows the keys of
the screen you are on.

## Everywhere

| Key | Does |
|---|---|
| `Ctrl+P` | Find any lesson, knowledge check, lab or question by name, or go to a section |
| `F1` | This help |
| `Ctrl+T` | Next theme: dark, light, high contrast |
| `Escape` | Back to the previous screen |
| `Tab` / `Shift+Tab` | Next / previous control |
| `Ctrl+Q` | Quit (your progress is saved as you go) |

## Course map (home)

| Key | Does |
|---|---|
| `↑` `↓` `Enter` | Move through levels, modules, lessons, checks and labs; open one |
| `c` | Continue where you stopped |
| `b` | Interview question bank · `f` flashcards · `p` progress |
| `s` | Switch learner |

## Lesson

| Key | Does |
|---|---|
| `m` | Mark the lesson complete |
| `n` / `N` | Next / previous lesson |
| `k` | Take the lesson's knowledge check |
| `l` | List the lesson's links to other lessons and glossary terms, and follow one |
| `t` | Show or hide the table of contents · `o` objectives and key facts |

Links to other lessons open here (click them, or press `l`); glossary links explain the term.
Links to web pages are shown for you to copy — relaylab never opens a browser.

## Knowledge check and practice

| Key | Does |
|---|---|
| `↑` `↓` `Space` / `Enter` | Choose an option (single choice), tick options (multiple choice) |
| `Shift+↑` / `Shift+↓` | Move the highlighted item up or down (ordering) |
| `Tab`, `Enter` | Pick the match for each item (matching) |
| `Ctrl+S` | Check the answer |
| `n` | Next question (after feedback) |

## Question bank and flashcards

| Key | Does |
|---|---|
| `/` | Search by text; pick level, tag and scope beside it |
| `Enter` | Practise the highlighted question (free-text answers are scored on key points) |
| `f` | Flashcards from the current filter |
| `Space` | Reveal the answer · then `1` hard, `2` good, `3` easy |

Cards rated hard come back within the sitting and after ten minutes; good and easy ones wait
one, three, seven or twenty-one days as they climb the boxes.

## Lab

| Key | Does |
|---|---|
| `Ctrl+R` | Run the device with the config and grade the result |
| `Ctrl+G` | Grade what your own client (swaks, curl) sent |
| `Ctrl+Y` | Switch between the settings form and raw YAML |
| `Ctrl+E` | Show the next hint |
| `Ctrl+O` | Cycle tabs: settings, transcript, grade, admin shell |

## Screen readers and plain text

Every part of the course also works as plain text, one prompt at a time, without this app:

- `relaylab quiz [--level L1|L2|L3] [--tag TAG] [--count N] [--learner NAME]` — knowledge checks
  and interview questions on standard input and output.
- `relaylab lab list`, `relaylab lab start LAB`, `relaylab lab check LAB --config FILE`,
  `relaylab lab hint LAB` — the labs, graded the same way, with `--json` for scripts.

Both paths share your progress with this app.
"""


class HelpScreen(ModalScreen[None]):
    """Keys and paths, in one scrollable page."""

    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box", classes="dialog"):
            yield Markdown(HELP, id="help-text", open_links=False)

    def on_mount(self) -> None:
        self.query_one("#help-box").focus()

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
