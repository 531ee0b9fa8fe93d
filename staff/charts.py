"""Geometry of the dashboard's bar charts: the templates draw these rectangles and labels as SVG.

Every bar carries its number as text and every series a text legend (and a pattern where two
series sit side by side), so the charts read without colour.
"""

from task_api.models import TaskExecution

ExecStatus = TaskExecution.Status

# Execution states stacked in the hourly chart, bottom up: (key, label, CSS class, statuses).
HOUR_SERIES = [
    ("success", "Success", "s-ok", (ExecStatus.SUCCESS,)),
    ("failure", "Failure", "s-bad", (ExecStatus.FAILURE,)),
    ("active", "Waiting or running", "s-busy",
     (ExecStatus.SCHEDULED, ExecStatus.PENDING, ExecStatus.STARTED, ExecStatus.PROGRESS, ExecStatus.RETRY)),
    ("revoked", "Revoked", "s-off", (ExecStatus.REVOKED,)),
]


def _scale(maximum: int, height: float) -> float:
    return height / maximum if maximum else 0.0


def _ticks(maximum: int) -> list[int]:
    """Up to four round gridline values below `maximum`."""
    if maximum <= 0:
        return []
    step = 1
    for candidate in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000):
        step = candidate
        if maximum / candidate <= 4:
            break
    else:
        step = max(1, maximum // 4)
    return list(range(step, maximum + 1, step))


def day_bars(days: list[dict], width: int = 900, height: int = 230) -> dict:
    """Grouped bars per day: created (solid) and completed (hatched)."""
    left, right, top, bottom = 44, 8, 34, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    maximum = max([d["created"] for d in days] + [d["completed"] for d in days] + [0])
    unit = _scale(maximum, plot_h)
    group = plot_w / max(1, len(days))
    bar = max(2.0, (group - 4) / 2)
    bars, labels = [], []
    for index, day in enumerate(days):
        x0 = left + index * group + 2
        for offset, key, css in ((0, "created", "s-created"), (1, "completed", "s-completed")):
            value = day[key]
            h = value * unit
            x = x0 + offset * bar
            bars.append({
                "x": round(x, 1), "y": round(top + plot_h - h, 1), "w": round(bar - 1, 1), "h": round(h, 1),
                "css": css, "value": value, "text_x": round(x + bar / 2, 1), "text_y": round(top + plot_h - h - 3, 1),
                "title": f"{day['day']:%Y-%m-%d}: {value} {key}",
            })
        if index % 5 == 0 or index == len(days) - 1:
            labels.append({"x": round(x0 + bar, 1), "text": f"{day['day']:%m-%d}"})
    return {
        "width": width, "height": height, "left": left, "top": top, "plot_w": plot_w, "plot_h": plot_h,
        "base_y": top + plot_h, "label_y": top + plot_h + 14, "bars": bars, "labels": labels,
        "gridlines": [{"y": round(top + plot_h - t * unit, 1), "value": t} for t in _ticks(maximum)],
        "totals": {"created": sum(d["created"] for d in days), "completed": sum(d["completed"] for d in days)},
    }


def hour_bars(hours: list[dict], width: int = 900, height: int = 250) -> dict:
    """Stacked bars per hour by state; the total above each bar, failures in their own labelled row."""
    left, right, top, bottom = 44, 8, 34, 52
    plot_w, plot_h = width - left - right, height - top - bottom
    maximum = max([h["total"] for h in hours] + [0])
    unit = _scale(maximum, plot_h)
    slot = plot_w / max(1, len(hours))
    bar = max(2.0, slot - 3)
    columns, labels = [], []
    for index, hour in enumerate(hours):
        x = left + index * slot + 1.5
        y = top + plot_h
        segments = []
        for _key, label, css, statuses in HOUR_SERIES:
            value = sum(hour["counts"].get(s, 0) for s in statuses)
            if not value:
                continue
            h = value * unit
            y -= h
            segments.append({"y": round(y, 1), "h": round(h, 1), "css": css, "value": value,
                             "title": f"{hour['hour']:%Y-%m-%d %H:00}: {value} {label.lower()}"})
        failed = hour["counts"].get(ExecStatus.FAILURE, 0)
        columns.append({
            "x": round(x, 1), "w": round(bar, 1), "segments": segments, "total": hour["total"],
            "text_x": round(x + bar / 2, 1), "text_y": round(y - 3, 1), "failed": failed,
        })
        if hour["hour"].hour % 6 == 0:
            labels.append({"x": round(x + bar / 2, 1), "text": f"{hour['hour']:%H:00}",
                           "day": f"{hour['hour']:%m-%d}" if hour["hour"].hour == 0 else ""})
    return {
        "width": width, "height": height, "left": left, "top": top, "plot_w": plot_w, "plot_h": plot_h,
        "base_y": top + plot_h, "label_y": top + plot_h + 13, "day_y": top + plot_h + 25,
        "failed_y": top + plot_h + 42, "columns": columns, "labels": labels,
        "gridlines": [{"y": round(top + plot_h - t * unit, 1), "value": t} for t in _ticks(maximum)],
        "series": [{"label": label, "css": css} for _, label, css, _ in HOUR_SERIES],
    }


def department_bars(departments: list[dict], width: int = 900) -> dict:
    """A stacked bar per department (to do, then in progress hatched), numbers on the segments
    and the whole count, overdue and failed included, as text beside the bar."""
    label_w, bar_w, row_h, top = 170, 380, 26, 6
    maximum = max([d["todo"] + d["in_progress"] for d in departments] + [0])
    unit = _scale(maximum, bar_w)
    rows = []
    for index, dept in enumerate(departments):
        y = top + index * row_h
        segments, x = [], label_w
        for key, css, label in (("todo", "s-todo", "to do"), ("in_progress", "s-progress", "in progress")):
            value = dept[key]
            w = value * unit
            if value:
                segments.append({"x": round(x, 1), "w": round(w, 1), "css": css, "value": value,
                                 "label": label, "fits": w >= 8 * len(str(value)) + 6,
                                 "text_x": round(x + w / 2, 1)})
            x += w
        rows.append({
            "y": y, "bar_y": y + 3, "text_y": y + 17, "name": dept["name"], "segments": segments,
            "summary_x": round(x + 8, 1),
            "summary": f"{dept['todo']} to do · {dept['in_progress']} in progress · "
                       f"{dept['overdue']} overdue · {dept['failed']} failed",
        })
    return {"width": width, "height": top * 2 + row_h * max(1, len(departments)), "rows": rows, "label_w": label_w}
