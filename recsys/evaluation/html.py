"""An evaluation as one self-contained HTML page: the tables and the plots (PNG, inlined as
base64), nothing loaded from anywhere else. `recsys evaluate --report report.html` writes it."""

from __future__ import annotations

import base64
import html
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from recsys.evaluation.report import COLUMNS, write_plots

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 64rem; padding: 0 1rem;
       color: #1d2330; }
table { border-collapse: collapse; margin: 1rem 0; font-variant-numeric: tabular-nums; }
th, td { padding: .3rem .7rem; border-bottom: 1px solid #d9dee7; text-align: right; }
th:first-child, td:first-child { text-align: left; }
img { max-width: 100%; height: auto; display: block; margin: 1rem 0; }
pre { background: #f4f6f9; padding: .8rem; overflow-x: auto; }
.muted { color: #5b6475; }
"""


def _cell(value, fmt: str) -> str:
    return "–" if value is None else html.escape(fmt.format(value))


def metrics_table(models: dict) -> str:
    """One row per model, the metrics of `recsys.evaluation.report.COLUMNS` that any has."""
    columns = [c for c in COLUMNS if any(m.get(c[0]) is not None for m in models.values())]
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label, _ in columns)
    rows = [
        f"<tr><td>{html.escape(name)}</td>"
        + "".join(f"<td>{_cell(m.get(key), fmt)}</td>" for key, _, fmt in columns)
        + "</tr>"
        for name, m in models.items()
    ]
    return f"<table><tr><th>model</th>{head}</tr>{''.join(rows)}</table>"


def _png(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'


def write_report(results: dict, path: str | Path, extra: str = "") -> Path:
    """Write the page for `recsys.evaluation.protocols.evaluate` results; ``extra`` is more
    HTML (already escaped) placed after the main table."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    split = results["split"]
    with tempfile.TemporaryDirectory() as folder:
        plots = "".join(_png(p) for p in write_plots(results, folder))
    data = results.get("data", {})
    when = datetime.now(UTC).isoformat(timespec="seconds")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>recsys evaluation: {html.escape(str(split.get("name")))}</title><style>{STYLE}</style>
</head><body>
<h1>recsys evaluation</h1>
<p class="muted">Data {html.escape(str(data.get("path", data.get("name", "?"))))},
split {html.escape(str(split.get("name")))}, written {when}.</p>
<h2>Scores</h2>{metrics_table(results["models"])}{extra}
<h2>Plots</h2>{plots}
<h2>Split</h2><pre>{html.escape(json.dumps(split, indent=2, default=str))}</pre>
<h2>Data</h2><pre>{html.escape(json.dumps(data, indent=2, default=str))}</pre>
</body></html>
"""
    path.write_text(page, encoding="utf-8")
    return path


def write_repeat_report(runs, summary, tests, path: str | Path) -> Path:
    """The page for `recsys.experiment.repeat` runs: mean ± std per model, the paired tests,
    and every run."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>recsys evaluation: repeated runs</title><style>{STYLE}</style></head><body>
<h1>recsys evaluation, {runs.index.get_level_values("run").nunique()} runs</h1>
<h2>Mean and standard deviation</h2>{summary.to_html(float_format="{:.4f}".format)}
<h2>Paired t-tests</h2>{tests.to_html(index=False, float_format="{:.4g}".format)}
<h2>Every run</h2>{runs.to_html(float_format="{:.4f}".format)}
</body></html>
"""
    path.write_text(page, encoding="utf-8")
    return path
