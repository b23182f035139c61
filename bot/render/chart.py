"""The weekly trend as a PNG: handoffs submitted and accepted per week, with the acceptance rate.

matplotlib is imported on first use, with the Agg backend (no display, no GUI toolkit): the bot starts
without it and only the stats reply and a manager's Home pay for it.
"""
from __future__ import annotations

import io
from collections.abc import Sequence

from bot.core.stats import WeekPoint


def trend_png(trend: Sequence[WeekPoint], title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure  # a Figure, not pyplot: no global state between threads

    fig = Figure(figsize=(6.4, 2.8), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    labels = [p.week_start.strftime("%d %b") for p in trend]
    xs = range(len(trend))
    ax.bar([x - 0.2 for x in xs], [p.submitted for p in trend], width=0.4, label="submitted", color="#457b9d")
    ax.bar([x + 0.2 for x in xs], [p.accepted for p in trend], width=0.4, label="accepted", color="#2a9d8f")
    ax.set_xticks(list(xs), labels, fontsize=8)
    ax.set_ylabel("handoffs")
    ax.set_title(title, fontsize=10)
    rates = [p.acceptance_rate for p in trend]
    if any(r is not None for r in rates):
        twin = ax.twinx()
        twin.plot(list(xs), [r * 100 if r is not None else float("nan") for r in rates], color="#e76f51",
                  marker="o", label="acceptance %")
        twin.set_ylim(0, 105)
        twin.set_ylabel("acceptance %")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
