"""The web console's words: marked for the one gettext catalogue, shown in Chinese by default.

Templates call ``_("...")`` with exactly these English strings; the catalogue
(docs/translating.md) holds their Chinese. tests/test_console.py checks that
every string a template shows is listed here.
"""

from __future__ import annotations

from collections.abc import Callable

from evidence import translation


# Named as gettext tools expect, so that extraction finds the strings it marks.
def N_(message: str) -> str:
    return message


DEFAULT_LANGUAGE = "zh"

CONSOLE_MESSAGES = (
    N_("Evidence console"),
    N_("Sign in"),
    N_("User name"),
    N_("Password"),
    N_("Wrong user name or password."),
    N_("Too many failed sign-ins; try again in a minute."),
    N_("Sign out"),
    N_("Cases"),
    N_("Case number"),
    N_("Title"),
    N_("Cause"),
    N_("Created"),
    N_("No cases yet."),
    N_("Evidence items"),
    N_("No evidence items yet."),
    N_("Capture a web page"),
    N_("Page address (URL)"),
    N_("Capture"),
    N_("Capture job"),
    N_("Status"),
    N_("Submitted"),
    N_("Attempts"),
    N_("Last error"),
    N_("Cancel the job"),
    N_("This job has already started or finished."),
    N_("Evidence item"),
    N_("This page refreshes itself until the job is finished."),
    N_("Requested URL"),
    N_("Page title"),
    N_("Manifest SHA-256"),
    N_("Screenshot"),
    N_("Download the PDF report"),
    N_("Download the evidence bundle"),
    N_("The bundle is signed with your officer key."),
    N_("Key passphrase"),
    N_("Reason for the export"),
    N_("Back to the case"),
    N_("Not found."),
    N_("You may not do this."),
    N_("The request was refused."),
    N_("The form has expired; reload the page and try again."),
    N_("Signed in as"),
    # Job statuses
    N_("queued"),
    N_("published"),
    N_("running"),
    N_("succeeded"),
    N_("failed"),
    N_("cancelled"),
    # Item stages
    N_("capturing"),
    N_("captured"),
    N_("sealed"),
    N_("timestamped"),
    N_("anchored"),
)


def language_of(requested: str | None, cookie: str | None) -> str:
    """``?lang=`` first, then the cookie; Chinese unless English is asked for."""
    for value in (requested, cookie):
        if value in ("zh", "en"):
            return value
    return DEFAULT_LANGUAGE


def translator(language: str) -> Callable[[str], str]:
    return translation(language).gettext
