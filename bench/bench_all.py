"""``make bench``: every province-scale benchmark in one run, then one table.

Runs the register, reports, signing, exchange, backup, shared-server and spreadsheet benchmarks (each measures its baseline in
the same run and writes ``bench/results/<name>-latest.json``), then prints one table — figure,
baseline, ratio, target, met or not, peak memory — and writes it, with the machine description,
as ``bench/results/all-<time>.json`` and ``all-latest.json``. With ``--readme`` the table also
replaces the one between the ``bench:start``/``bench:end`` marks in README.md.

Usage: python bench/bench_all.py [--collect-only] [--readme]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
BENCHES = ("register", "reports", "signing", "exchange", "backup", "server", "sheets")


def _num(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _row(area: str, scenario: str, figure: object, unit: str, baseline: object = None, baseline_name: str = "",
         target: object = None, met: object = None, peak_mb: object = None) -> dict[str, object]:
    f, b = _num(figure), _num(baseline)
    return {"area": area, "scenario": scenario, "figure": f, "unit": unit, "baseline": b,
            "baseline_name": baseline_name, "ratio": round(f / b, 2) if f is not None and b else None,
            "target": _num(target), "met": met if isinstance(met, bool) else None, "peak_mb": _num(peak_mb)}


def collect() -> tuple[list[dict[str, object]], dict[str, object]]:
    rows: list[dict[str, object]] = []
    machine: dict[str, object] = {}
    for name in BENCHES:
        path = RESULTS / f"{name}-latest.json"
        if not path.exists():
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        machine = data.get("machine") or machine
        for r in data["results"]:
            if name == "register":
                scenario = str(r["scenario"])
                unit = "ms" if "(ms)" in scenario else "MB" if "(MB)" in scenario else "s"
                baseline_name = ("bare PySide6 window" if "start" in scenario else
                                 "raw sqlite3 query" if r.get("baseline") is not None else "")
                rows.append(_row("register", scenario.rsplit(" (", 1)[0], r["figure"], unit, r.get("baseline"),
                                 baseline_name, r.get("target"), r.get("met"),
                                 r["figure"] if unit == "MB" else None))
            elif name == "reports":
                rows.append(_row("reports", str(r["scenario"]), r["build_s"], "s", r.get("libreoffice_s"),
                                 "LibreOffice, same document" + (" (> 900 s, stopped)" if r.get("libreoffice_timed_out")
                                                                 else ""),
                                 r.get("target_s"), r.get("met"), r.get("peak_mb")))
            elif name == "signing":
                rows.append(_row("signing", str(r["scenario"]), r["seconds"], "s", r.get("pdfsig_s"),
                                 "poppler pdfsig" if r.get("pdfsig_s") else "", r.get("target_s"), r.get("met"),
                                 r.get("peak_mb")))
            elif name == "exchange":
                rows.append(_row("exchange", str(r["scenario"]), r["seconds"], "s", r.get("raw_sqlite3_s"),
                                 "raw sqlite3 insert" if r.get("raw_sqlite3_s") else "", r.get("target_s"),
                                 r.get("met"), r.get("peak_mb")))
            elif name == "server":
                rows.append(_row("server", "PostgreSQL: " + str(r["scenario"]), r["server_ms"], "ms", r.get("sqlite_ms"),
                                 "SQLite, same data", r.get("target_ms"), r.get("met"),
                                 data.get("peak_mb") if r is data["results"][0] else None))
            elif name == "sheets" and not str(r["scenario"]).startswith("baseline"):
                rows.append(_row("sheets", str(r["scenario"]), r["seconds"], "s", r.get("openpyxl_read_s"),
                                 "openpyxl reading the same file" if r.get("openpyxl_read_s") else "",
                                 r.get("target_s"), r.get("met"), r.get("peak_mb")))
            elif name == "backup":
                rows.append(_row("backup", str(r["scenario"]), r["seconds"], "s", r.get("raw_sqlite3_backup_s"),
                                 "raw sqlite3 online backup", r.get("target_s"), r.get("met"), r.get("peak_mb")))
    return rows, machine


def _fmt(value: object, unit: str = "") -> str:
    if value is None:
        return ""
    v = float(value)  # type: ignore[arg-type]
    text = f"{v:,.0f}" if abs(v) >= 100 else f"{v:.2f}" if abs(v) < 10 else f"{v:.1f}"
    return f"{text} {unit}".strip()


def table(rows: list[dict[str, object]], machine: dict[str, object]) -> str:
    head = (f"Measured {datetime.now():%Y-%m-%d} on {machine.get('cores', '?')} cores ({machine.get('cpu', '')}), "
            f"Python {machine.get('python', '')}, PySide6 {machine.get('pyside6', '')}, SQLite "
            f"{machine.get('sqlite', '')}; `make bench` (100,000 activities; 45 office packages).\n\n")
    lines = ["| area | scenario | dbcomm | baseline (same run) | ratio | target | met | peak MB |",
             "|---|---|---:|---|---:|---:|:---:|---:|"]
    for r in rows:
        unit = str(r["unit"])
        baseline = f"{_fmt(r['baseline'], unit)} — {r['baseline_name']}" if r["baseline"] is not None else (
            str(r["baseline_name"]))
        met = "" if r["met"] is None else "yes" if r["met"] else "**no**"
        target = f"< {_fmt(r['target'], unit)}" if r["target"] is not None else ""
        ratio = f"{r['ratio']}×" if r["ratio"] is not None else ""
        lines.append(f"| {r['area']} | {r['scenario']} | {_fmt(r['figure'], unit)} | {baseline} | {ratio} | "
                     f"{target} | {met} | {_fmt(r['peak_mb'])} |")
    return head + "\n".join(lines) + "\n"


def update_readme(text: str) -> None:
    readme = ROOT / "README.md"
    content = readme.read_text(encoding="utf-8")
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    if start not in content or end not in content:
        return
    before, rest = content.split(start, 1)
    _old, after = rest.split(end, 1)
    readme.write_text(before + start + "\n" + text + end + after, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--collect-only", action="store_true", help="only gather the latest results")
    parser.add_argument("--readme", action="store_true", help="also put the table into README.md")
    args = parser.parse_args()
    began = time.perf_counter()
    if not args.collect_only:
        for name in BENCHES:
            if not (HERE / f"bench_{name}.py").exists():
                continue
            print(f"\n== {name} ==", flush=True)
            run = subprocess.run([sys.executable, str(HERE / f"bench_{name}.py")])
            if run.returncode != 0:
                print(f"bench_{name}.py failed with status {run.returncode}", file=sys.stderr)
                return run.returncode
    rows, machine = collect()
    text = table(rows, machine)
    print("\n" + text)
    missed = [r for r in rows if r["met"] is False]
    print(f"{len(rows)} figures, {len(missed)} targets missed; whole run {time.perf_counter() - began:.0f} s")
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    record = {"when": datetime.now().isoformat(timespec="seconds"), "machine": machine, "results": rows}
    for name in (f"all-{stamp}.json", "all-latest.json"):
        (RESULTS / name).write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if args.readme:
        update_readme(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
