"""The one message catalogue of the command line and the reports.

Messages are standard gettext: one domain, ``evidence``; the msgids are the
English source strings; ``locale/zh_CN`` and ``locale/en`` hold the
translators' ``.po`` files and, beside them, the compiled ``.mo`` files read
here with the standard library (Babel is a translator's tool, not a runtime
dependency). docs/translating.md has the workflow.
"""

from __future__ import annotations

import functools
import gettext
import os
from collections.abc import Mapping
from pathlib import Path

from evidence.model.errors import ConfigurationError

DOMAIN = "evidence"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("zh", "en")
"""The languages of messages and reports: Simplified Chinese and English."""

# A language as the toolkit names it -> the gettext locale of its catalogue.
_LOCALES = {"zh": "zh_CN", "en": "en"}
_LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")


# Named as gettext tools expect, so that extraction finds the strings it marks.
def N_(message: str) -> str:
    """Mark ``message`` for the catalogue where it is defined; it is translated where shown."""
    return message


@functools.cache
def translation(language: str) -> gettext.GNUTranslations:
    """The compiled catalogue of ``language`` (one of :data:`LANGUAGES`).

    Raises ConfigurationError for another language, or when the installed
    package lacks the catalogue (a broken installation, not a fallback case:
    a report must never silently switch language).
    """
    locale = _LOCALES.get(language)
    if locale is None:
        raise ConfigurationError(
            f"unsupported language {language!r}: use one of {', '.join(LANGUAGES)}"
        )
    path = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.mo"
    try:
        with path.open("rb") as handle:
            return gettext.GNUTranslations(handle)
    except OSError as exc:
        raise ConfigurationError(
            f"the {locale} message catalogue is missing ({path}): reinstall the toolkit"
        ) from exc


def language_from_environment(environ: Mapping[str, str] | None = None) -> str:
    """``zh`` when the locale names Chinese (``zh_CN.UTF-8``, ``zh_TW``, ``zh``), else ``en``.

    The first of LC_ALL, LC_MESSAGES and LANG that is set and not empty
    decides, as the C library does; an unset locale gets English.
    """
    values = os.environ if environ is None else environ
    for variable in _LOCALE_VARIABLES:
        value = values.get(variable)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"
