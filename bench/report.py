"""The harness's results: a Markdown table of ratios and a PNG of latency by request type."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class Result:
    """Latency (ms) and throughput of one group of requests on one server."""

    mean: float
    p50: float
    p99: float
    rate: float
    errors: int = 0


def write_report(out: Path, table: dict[tuple[str, str, int], Result], groups: list[str]) -> None:
    lines = [
        "| request | clients | raw SQL p50 (ms) | OneMap mean / p50 / p99 (ms) | OneMap req/s "
        "| computed p50 (ms) | computed req/s | tipg p50 (ms) | tipg req/s "
        "| OneMap ÷ raw p50 | computed ÷ raw p50 | OneMap ÷ tipg req/s "
        "| computed ÷ tipg req/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for clients in (1, 8):
        for group in groups:
            one = table[("onemap", group, clients)]
            cold = table[("computed", group, clients)]
            raw = table.get(("raw SQL", group, clients))
            tip = table.get(("tipg", group, clients))
            cells = [
                f"{raw.p50:.2f}" if raw else "–",
                f"{one.mean:.2f} / {one.p50:.2f} / {one.p99:.2f}",
                f"{one.rate:.0f}",
                f"{cold.p50:.2f}",
                f"{cold.rate:.0f}",
                f"{tip.p50:.2f}" if tip else "–",
                f"{tip.rate:.0f}" if tip else "–",
                f"{one.p50 / raw.p50:.2f}" if raw else "–",
                f"{cold.p50 / raw.p50:.2f}" if raw else "–",
                f"{one.rate / tip.rate:.2f}" if tip else "–",
                f"{cold.rate / tip.rate:.2f}" if tip else "–",
            ]
            errors = one.errors + cold.errors
            label = f"{group} (errors: {errors})" if errors else group
            lines.append(f"| {label} | {clients} | " + " | ".join(cells) + " |")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    plot(out.with_suffix(".png"), table, groups)
    print("\n".join(lines))


def plot(path: Path, table: dict[tuple[str, str, int], Result], groups: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 5))
    width = 0.2
    servers = {"raw SQL": "raw SQL", "onemap": "OneMap", "computed": "OneMap, cache off",
               "tipg": "tipg"}  # fmt: skip
    for k, (server, label) in enumerate(servers.items()):
        values = [table[(server, g, 1)].p50 if (server, g, 1) in table else 0 for g in groups]
        ax.bar([i + (k - 1.5) * width for i in range(len(groups))], values, width, label=label)
    ax.set_xticks(range(len(groups)), groups, rotation=40, ha="right")
    ax.set_ylabel("p50 latency, ms (1 client)")
    ax.set_yscale("log")
    ax.legend()
    ax.set_title("OneMap beside raw SQL and tipg — full sample city, loopback")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
