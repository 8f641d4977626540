"""Evaluation results as a terminal table, JSON for machines, and PNG plots for people."""

from __future__ import annotations

import json
from pathlib import Path

COLUMNS = [
    ("rmse", "RMSE", "{:.4f}"),
    ("mae", "MAE", "{:.4f}"),
    ("rmse_warm", "warm", "{:.4f}"),
    ("rmse_cold", "cold", "{:.4f}"),
    ("fit_seconds", "fit s", "{:.2f}"),
    ("predict_seconds", "pred s", "{:.3f}"),
]
RANKING_COLUMNS = [
    ("ndcg_at_5", "NDCG@5", "{:.4f}"),
    ("ndcg_at_10", "NDCG@10", "{:.4f}"),
    ("ndcg_at_20", "NDCG@20", "{:.4f}"),
    ("precision_at_10", "P@10", "{:.4f}"),
    ("recall_at_10", "R@10", "{:.4f}"),
    ("map_at_10", "MAP@10", "{:.4f}"),
    ("coverage_at_10", "cover@10", "{:.3f}"),
    ("novelty_at_10", "pop%@10", "{:.1f}"),
    ("rank_seconds", "rank s", "{:.2f}"),
]


def table(results: dict) -> str:
    """Fixed-width tables, one row per model: rating accuracy, then ranking (when scored)."""
    split = results["split"]
    head = f"split {split['name']}: {split['n_train']:,.0f} train / {split['n_test']:,.0f} test"
    if "folds" in split:
        head += f" (mean of {split['folds']} folds)"
    blocks = [head, _block(results["models"], COLUMNS)]
    if any("ndcg_at_10" in m for m in results["models"].values()):
        threshold = next(m.get("relevant_threshold") for m in results["models"].values())
        blocks.append(f"ranking: relevant = test rating >= {threshold}; pop%: mean popularity "
                      "percentile of what is shown (lower is more novel)")  # fmt: skip
        blocks.append(_block(results["models"], RANKING_COLUMNS))
    return "\n".join(blocks)


def _block(models: dict, columns: list) -> str:
    rows = [["model", *(label for _, label, _ in columns)]]
    for name, metrics in models.items():
        cells = [name]
        for key, _, fmt in columns:
            value = metrics.get(key)
            cells.append("-" if value is None else fmt.format(value))
        rows.append(cells)
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) if c == 0 else cell.rjust(w) for c, (cell, w) in
                  enumerate(zip(row, widths, strict=True)))
        for row in rows
    ]  # fmt: skip
    return "\n".join(lines)


def write_json(results: dict, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2))
    return path


def write_plots(results: dict, folder: str | Path) -> list[Path]:
    """rmse.png (RMSE per model) and error_by_activity.png (RMSE by user activity)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    models = results["models"]
    names = list(models)

    fig, ax = plt.subplots(figsize=(1.2 * len(names) + 2, 3.5))
    values = [models[n]["rmse"] for n in names]
    bars = ax.bar(names, values, color="#4C72B0")
    ax.bar_label(bars, fmt="%.3f", fontsize=8)
    ax.set_ylim(min(values) * 0.95, max(values) * 1.02)
    ax.set_ylabel("RMSE (lower is better)")
    ax.set_title(f"RMSE per model, split {results['split']['name']}")
    fig.tight_layout()
    rmse_png = folder / "rmse.png"
    fig.savefig(rmse_png, dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 3.5))
    for name in names:
        activity = models[name].get("rmse_by_activity") or models[name]["folds"][0].get(
            "rmse_by_activity"
        )
        ax.plot(activity["bins"], [v if v is not None else float("nan") for v in activity["rmse"]],
                marker="o", label=name)  # fmt: skip
    ax.set_xlabel("user's training ratings")
    ax.set_ylabel("RMSE")
    ax.set_title("Error by user activity")
    ax.legend(fontsize=8)
    fig.tight_layout()
    activity_png = folder / "error_by_activity.png"
    fig.savefig(activity_png, dpi=110)
    plt.close(fig)
    return [rmse_png, activity_png]
