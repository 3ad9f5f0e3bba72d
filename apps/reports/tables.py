"""Each report as the tables people read: the page shows them (a chart drawn from some), the CSV writes the
same cells. Built from the selectors' dicts; definitions come from metrics.METRICS.

A cell is `(value, unit)`: "count", "seconds", "ratio" or "score"; the page formats it, the CSV writes the
raw value (seconds stay seconds, ratios stay 0-1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from apps.conversations.models import ChannelKind
from apps.reports.metrics import METRICS

STAT_NAMES = ("median", "p90", "mean")


@dataclass
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)  # each row: a label, then (value, unit) cells
    help: list[str] = field(default_factory=list)  # metric keys whose definitions the table shows
    chart: str = ""  # "bar" | "line": drawn from the table by static/reports/charts.js
    plot: list[str] = field(default_factory=list)  # the columns the chart draws (all when empty)
    change_column: bool = False  # the last column is a change against the previous period (shown signed)

    @property
    def definitions(self) -> list[dict]:
        return [{"label": METRICS[key].label, "help": METRICS[key].help} for key in self.help]


def _change(now, before):
    return None if now is None or before is None else round(now - before, 4)


def _compared(key: str, title: str, figures: list[tuple[str, object, object, str]], help_keys: list[str]) -> Table:
    columns = ["Figure", "This period", "Previous period", "Change"]
    table = Table(key, title, columns, help=help_keys, change_column=True)
    for label, now, before, unit in figures:
        table.rows.append([label, (now, unit), (before, unit), (_change(now, before), unit)])
    return table


def _timing_figures(report: dict, previous: dict) -> list[tuple]:
    figures = []
    for metric, label in (("first_response_seconds", "First response"), ("resolution_seconds", "Resolution")):
        for basis, pick in (("", lambda r: r), (" (business hours)", lambda r: r["business_hours"])):
            for stat in STAT_NAMES:
                figures.append(
                    (f"{label} {stat}{basis}", pick(report)[metric][stat], pick(previous)[metric][stat], "seconds")
                )
    return figures


def conversation_tables(report: dict, previous: dict) -> list[Table]:
    volumes = [(METRICS[k].label, report[k], previous[k], "count") for k in ("started", "resolved", "reopened")]
    summary = _compared(
        "summary",
        "Summary",
        volumes + _timing_figures(report, previous),
        ["started", "resolved", "reopened", "first_response_seconds", "resolution_seconds", "business_hours",
         "statistics"],
    )  # fmt: skip
    days = Table("by_day", "By day", ["Date", "Started", "Resolved", "Reopened"], chart="line")
    for row in report["by_day"]:
        days.rows.append([row["date"], *((row[k], "count") for k in ("started", "resolved", "reopened"))])
    channels = Table(
        "by_channel",
        "By channel",
        ["Channel", "Started", "Resolved", "Reopened", "First response median", "Resolution median"],
        chart="bar",
        plot=["Started", "Resolved", "Reopened"],
    )
    for kind, label in ChannelKind.choices:
        row = report["by_channel"][kind]
        channels.rows.append(
            [label, *((row[k], "count") for k in ("started", "resolved", "reopened")),
             (row["first_response_seconds"]["median"], "seconds"), (row["resolution_seconds"]["median"], "seconds")]
        )  # fmt: skip
    return [summary, days, channels]


def _csat_figures(report: dict, previous: dict) -> list[tuple]:
    return [
        ("Surveys sent", report["sent"], previous["sent"], "count"),
        ("Answered", report["answered"], previous["answered"], "count"),
        ("Response rate", report["response_rate"], previous["response_rate"], "ratio"),
        ("Score", report["score"], previous["score"], "score"),
    ]


def csat_tables(report: dict, previous: dict) -> list[Table]:
    summary = _compared("summary", "Summary", _csat_figures(report, previous), ["csat_score", "csat_response_rate"])
    distribution = Table("distribution", "Ratings", ["Rating", "Answers"], help=["csat_distribution"], chart="bar")
    distribution.rows = [[rating, (n, "count")] for rating, n in report["distribution"].items()]
    return [summary, distribution]


def sla_tables(report: dict, previous: dict) -> list[Table]:
    names = (("achieved", "Achieved", "count"), ("breached", "Breached", "count"), ("pending", "Pending", "count"),
             ("achieved_rate", "Achieved rate", "ratio"))  # fmt: skip
    summary = _compared("summary", "Summary", [(lbl, report[k], previous[k], u) for k, lbl, u in names], ["sla"])
    policies = Table(
        "policies", "Per policy and target",
        ["Policy and target", "Target", "Achieved", "Breached", "Pending", "Achieved rate"], chart="bar",
        plot=["Achieved", "Breached", "Pending"],
    )  # fmt: skip
    for row in report["policies"]:
        label = f"{row['policy']['name']} · {row['metric'].replace('_', ' ')}"
        policies.rows.append([label, (row["target_seconds"], "seconds"), *((row[k], u) for k, _, u in names)])
    return [summary, policies]


def agent_tables(report: dict, previous: dict) -> list[Table]:
    table = Table(
        "agents", "Agents",
        ["Agent", "Handled", "First response median", "First response p90", "Resolution median",
         "Resolutions", "CSAT score", "CSAT answered"],
        help=["handled", "agent_attribution", "first_response_seconds", "resolution_seconds", "csat_score"],
        chart="bar", plot=["Handled", "Resolutions", "CSAT answered"],
    )  # fmt: skip
    for row in report["agents"]:
        frt, res, csat = row["first_response_seconds"], row["resolution_seconds"], row["csat"]
        table.rows.append(
            [row["agent"]["name"] or row["agent"]["email"], (row["handled"], "count"),
             (frt["median"], "seconds"), (frt["p90"], "seconds"), (res["median"], "seconds"),
             (res["count"], "count"), (csat["score"], "score"), (csat["answered"], "count")]
        )  # fmt: skip
    return [table]


def _consent_table(key: str, title: str, first: str, groups: dict, labels: dict) -> Table:
    table = Table(key, title, [first, "Grants", "Revokes", "Net"], chart="bar")
    for name, figures in groups.items():
        table.rows.append([labels.get(name, name), *((figures[k], "count") for k in ("grants", "revokes", "net"))])
    return table


def consent_tables(report: dict, previous: dict) -> list[Table]:
    from apps.contacts.models import ConsentChannel, ConsentSource

    figures = [(METRICS[f"consent_{k}"].label, report[k], previous[k], "count") for k in ("grants", "revokes", "net")]
    summary = _compared("summary", "Summary", figures, ["consent_grants", "consent_revokes", "consent_net"])
    return [
        summary,
        _consent_table("by_channel", "By channel", "Channel", report["by_channel"], dict(ConsentChannel.choices)),
        _consent_table("by_source", "By source", "Source", report["by_source"], dict(ConsentSource.choices)),
    ]


def funnel_tables(funnel: dict) -> list[Table]:
    steps = Table("funnel", "Funnel", ["Step", "Contacts", "Share of the step before"], help=["campaign_funnel"],
                  chart="bar", plot=["Contacts"])  # fmt: skip
    steps.rows = [[s["label"], (s["count"], "count"), (s["share"], "percent")] for s in funnel["steps"]]
    excluded = Table("excluded", "Excluded, by reason", ["Reason", "Contacts"])
    excluded.rows = [[reason.replace("_", " "), (n, "count")] for reason, n in sorted(funnel["excluded"].items())]
    return [steps, excluded]


CSV_HEADER = ["table", "row", "column", "value"]


def csv_rows(tables: list[Table]):
    """Every cell of every table, one line each (long format: one CSV per report, whatever its tables)."""
    for table in tables:
        for row in table.rows:
            for column, cell in zip(table.columns[1:], row[1:], strict=True):
                yield [table.title, row[0], column, cell[0]]
