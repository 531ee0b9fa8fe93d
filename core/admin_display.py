"""Small HTML pieces the admin lists share: short ids, status badges, progress bars, durations.

Every badge carries its text (never colour alone); the tone only picks a CSS class from
core/static/core/admin.css, which each ModelAdmin that uses these pulls in through ADMIN_CSS.
"""

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

# The stylesheet of these pieces, for a ModelAdmin's `Media.css`.
ADMIN_CSS = {"all": ["core/admin.css"]}

TONES = ("ok", "bad", "busy", "wait", "off")


def short_id(value, length: int = 8) -> str:
    """The first characters of an id, with the whole id as the tooltip."""
    text = str(value)
    return format_html('<code class="th-id" title="{}">{}</code>', text, text[:length])


def badge(label: str, tone: str) -> str:
    tone = tone if tone in TONES else "off"
    return format_html('<span class="th-badge th-{}">{}</span>', tone, label)


def progress_bar(percent) -> str:
    """A bar with its number on it; '' when there is no progress to show."""
    if percent is None:
        return ""
    try:
        value = max(0, min(100, int(percent)))
    except (TypeError, ValueError):
        return ""
    return format_html(
        '<span class="th-progress" role="progressbar" aria-valuenow="{0}" aria-valuemin="0" aria-valuemax="100">'
        '<span class="th-progress-fill" style="width:{0}%"></span><span class="th-progress-text">{0}%</span></span>',
        value,
    )


def duration_text(value: timedelta | None) -> str:
    """H:MM:SS, or '' for none; sub-second runs show as 0:00:00.123."""
    if value is None:
        return ""
    total = value.total_seconds()
    hours, rest = divmod(int(total), 3600)
    minutes, seconds = divmod(rest, 60)
    if total < 1:
        return f"0:00:00.{int(total * 1000):03d}"
    return f"{hours}:{minutes:02d}:{seconds:02d}"


def compact_time(value: datetime | None) -> str:
    """'11-30 18:37' (with the year when not this one) in the current time zone; the full timestamp as tooltip."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    # This year's dates leave the year out (it is in the tooltip): a column narrower by a fifth.
    shown = local.strftime("%m-%d %H:%M" if local.year == timezone.localtime().year else "%Y-%m-%d %H:%M")
    return format_html(
        '<time class="th-time" datetime="{}" title="{}">{}</time>',
        value.isoformat(),
        local.isoformat(sep=" ", timespec="seconds"),
        shown,
    )


def truncated(text: str | None, length: int = 40) -> str:
    """At most `length` characters shown, the whole text as the tooltip."""
    text = text or ""
    shown = text if len(text) <= length else text[: length - 1] + "…"
    return format_html('<span title="{}">{}</span>', text, shown)


def dotted_name(text: str) -> str:
    """A dotted name (a task's registered name) that may wrap after each dot, never inside a part."""
    parts = text.split(".")
    joined = format_html_join(mark_safe(".<wbr>"), "{}", ((part,) for part in parts))
    return format_html('<span class="th-dotted" title="{}">{}</span>', text, joined)
