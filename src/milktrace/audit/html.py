"""The audit report for people: one self-contained HTML file (inline CSS and SVG, no script,
nothing loaded from anywhere). On-chain text is always escaped.

Sections: verdict and checks, violations, genealogy graph, timeline, recall impact,
documents, organisations and role history, batch histories.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from html import escape
from typing import Any

from milktrace.audit.model import BatchHistory, Ledger, hex0x, role_names
from milktrace.audit.report import _details, iso, violations_by_event
from milktrace.audit.run import AuditReport
from milktrace.events import (
    BatchCommissioned,
    BatchDerived,
    BatchStatusChanged,
    ConditionRecorded,
    CustodyAccepted,
    CustodyHandedOver,
    CustodyHandOverCancelled,
    DecodedEvent,
    EventAnchored,
    QualityRecorded,
    RecordEvent,
)
from milktrace.types import Status

MAX_GRAPH_NODES = 80
MAX_TIMELINE_ROWS = 40
MAX_HISTORY_BATCHES = 200
MAX_HISTORY_ROWS = 4000

PALETTE = (
    "#1f77b4",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#ff7f0e",
    "#7f7f7f",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#843c39",
    "#7b4173",
)
STATUS_COLOURS = {
    Status.UNKNOWN: "#9aa0a6",
    Status.ACTIVE: "#5f6b7a",
    Status.QUARANTINED: "#d08700",
    Status.RELEASED: "#1a7f37",
    Status.RECALLED: "#c62828",
}

CSS = """
:root{--fg:#1d232b;--muted:#5b6573;--line:#d9dee5;--bg:#f6f7f9;--ok:#1a7f37;--bad:#c62828;
--warn:#d08700;--card:#fff}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","PingFang SC",
"Microsoft YaHei",sans-serif;color:var(--fg);background:var(--bg)}
header{background:#12263a;color:#fff;padding:20px 32px}
header h1{margin:0 0 4px;font-size:22px;font-weight:600}
header .meta{color:#c5d0dc;font-size:13px}
header .meta code{color:#fff}
main{padding:8px 32px 40px;max-width:1400px}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:16px 20px;
margin:18px 0}
h2{font-size:17px;margin:0 0 12px}
h3{font-size:15px;margin:16px 0 8px}
.verdict{display:inline-block;padding:4px 12px;border-radius:14px;font-weight:700;margin-right:10px}
.pass{background:#dcf3e3;color:var(--ok)}
.fail{background:#fde2e1;color:var(--bad)}
.note{color:var(--muted);font-size:13px}
.checks{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:10px}
.check{border:1px solid var(--line);border-left:6px solid var(--ok);border-radius:6px;
padding:8px 12px}
.check.failed{border-left-color:var(--bad)}
.check b{display:block}
.check .desc{color:var(--muted);font-size:12.5px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#eef1f5;font-weight:600;position:sticky;top:0}
td.nowrap{white-space:nowrap}
tr.flagged td{background:#fff3f2}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
.pill{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;color:#fff}
details{border-top:1px solid var(--line);padding:6px 0}
summary{cursor:pointer;font-weight:600}
.scroll{overflow-x:auto}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif}
.legend{display:flex;flex-wrap:wrap;gap:6px 16px;font-size:12.5px;color:var(--muted);margin:8px 0}
.legend span{display:inline-flex;align-items:center;gap:5px}
.swatch{display:inline-block;width:14px;height:10px;border-radius:2px}
.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;font-size:13px}
.kv dt{color:var(--muted)}
.kv dd{margin:0}
@media print{header{background:#fff;color:#000}section{break-inside:avoid}}
"""


def e(value: Any) -> str:
    return escape(str(value), quote=True)


def short(h: str, n: int = 10) -> str:
    return h if len(h) <= n + 4 else h[:n] + "…"


def date_text(ts: int) -> str:
    try:
        return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d")
    except (OverflowError, OSError, ValueError):
        return str(ts)


def when(ts: int | None) -> str:
    """`2025-03-12 16:48` (UTC), short enough for a table cell."""
    text = iso(ts)
    return text[:16].replace("T", " ") if text.endswith("Z") else text


def yyyymmdd(v: int) -> str:
    s = f"{v:08d}"
    return f"{s[:4]}-{s[4:6]}-{s[6:]}"


class Html:
    def __init__(self, report: AuditReport) -> None:
        self.r = report
        self.ledger: Ledger = report.ledger
        self.paths = self.ledger.paths()
        self.flagged = violations_by_event(report)
        self.batches = [
            b
            for b in self.ledger.batches.values()
            if b.commissioned is not None and (report.scope is None or b.batch_id in report.scope)
        ]
        self.colour: dict[str, str] = {}
        for i, account in enumerate(a for a, o in self.ledger.orgs.items() if o.admitted):
            self.colour[account] = PALETTE[i % len(PALETTE)]
        self.bad_batches = {v.batch_id for v in report.violations if v.batch_id is not None}

    # ------------------------------------------------------------------ helpers

    def org(self, account: str | None) -> str:
        if not account:
            return '<span class="note">—</span>'
        label = self.ledger.org_label(account)
        if label == account:
            return f'<code title="{e(account)}">{e(short(account, 12))}</code>'
        return f'<span title="{e(account)}">{e(label)}</span>'

    def batch(self, bid: bytes | None) -> str:
        if bid is None:
            return '<span class="note">—</span>'
        path = self.paths.get(bid)
        return (
            f'<code title="{e(hex0x(bid))}">{e(path)}</code>'
            if path
            else f"<code>{e(short(hex0x(bid), 14))}</code>"
        )

    def lot_label(self, b: BatchHistory) -> str:
        c = b.commissioned
        return c.lot if c else short(hex0x(b.batch_id), 12)

    # ------------------------------------------------------------------ sections

    def header(self) -> str:
        r = self.r
        ch = r.chain
        verdict = (
            '<span class="verdict pass">ALL CHECKS PASSED</span>'
            if r.passed
            else f'<span class="verdict fail">{len(r.violations)} VIOLATION(S)</span>'
        )
        meta = []
        if ch:
            meta.append(
                f"chain {ch.chain_id} · registry <code>{e(ch.registry)}</code> · "
                f"blocks {ch.from_block}–{ch.to_block}"
                + (f" (last {ch.confirmations} ignored)" if ch.confirmations else "")
                + (f" · state as of {e(iso(ch.as_of_time))}" if ch.as_of_time else "")
            )
        if r.focus is not None:
            meta.append(
                f"scope: batch <code>{e(self.paths.get(r.focus) or hex0x(r.focus))}</code> "
                f"and its lineage ({len(r.scope or ())} batches)"
            )
        return (
            f"<header><h1>milktrace audit report</h1><div>{verdict}"
            f'<span class="meta">{len(self.ledger.events)} events · '
            f"{len(self.batches)} batches · "
            f"{sum(1 for o in self.ledger.orgs.values() if o.admitted)} organisations</span></div>"
            + "".join(f'<div class="meta">{m}</div>' for m in meta)
            + "</header>"
        )

    def checks(self) -> str:
        cards = []
        for c, vs in self.r.results:
            state = "failed" if vs else ""
            badge = (
                f'<span class="pill" style="background:var(--bad)">{len(vs)} violation(s)</span>'
                if vs
                else '<span class="pill" style="background:var(--ok)">passed</span>'
            )
            cards.append(
                f'<div class="check {state}"><b>{e(c.title)} {badge}</b>'
                f'<span class="desc">{e(c.description)}</span>'
                f'<div class="note">check <code>{e(c.name)}</code> · {c.checked} looked at</div>'
                "</div>"
            )
        grid = "".join(cards)
        return f'<section id="checks"><h2>Checks</h2><div class="checks">{grid}</div></section>'

    def violations(self) -> str:
        vs = self.r.violations
        if not vs:
            return ""
        rows = []
        for v in vs:
            rows.append(
                "<tr "
                f'class="flagged"><td><code>{e(v.check)}</code></td><td>{self.batch(v.batch_id)}</td>'
                f'<td>{e(v.kind)}<br><code title="{e(hex0x(v.event_id)) if v.event_id else ""}">'
                f"{e(short(hex0x(v.event_id), 12)) if v.event_id else ''}</code></td>"
                f'<td>{v.block}</td><td><code title="{e(v.tx)}">{e(short(v.tx, 12))}</code></td>'
                f"<td>{self.org(v.actor)}</td><td>{e(v.message)}</td></tr>"
            )
        return (
            '<section id="violations"><h2>Violations</h2><div class="scroll"><table>'
            "<tr><th>check</th><th>batch</th><th>event</th><th>block</th><th>transaction</th>"
            f"<th>by</th><th>what is wrong</th></tr>{''.join(rows)}</table></div></section>"
        )

    # ------------------------------------------------------------------ genealogy graph

    def depths(self) -> dict[bytes, int]:
        depth: dict[bytes, int] = {}
        for b in self.batches:  # chain order: parents are commissioned before their children
            ps = [depth.get(p, 0) for p in b.parents]
            depth[b.batch_id] = 1 + max(ps) if ps else 0
        return depth

    def genealogy(self) -> str:
        nodes = self.batches[:MAX_GRAPH_NODES]
        if not nodes:
            return ""
        depth = self.depths()
        cols: dict[int, list[BatchHistory]] = {}
        for b in nodes:
            cols.setdefault(depth[b.batch_id], []).append(b)
        pos: dict[bytes, tuple[float, float]] = {}
        w, h, gap_x, gap_y, pad = 230, 64, 90, 18, 16
        for d in sorted(cols):
            col = cols[d]
            if d > 0:  # order by the mean row of the parents, to keep edges short
                col.sort(
                    key=lambda b: (
                        sum(pos[p][1] for p in b.parents if p in pos)
                        / max(1, sum(1 for p in b.parents if p in pos))
                    )
                )
            for i, b in enumerate(col):
                pos[b.batch_id] = (pad + d * (w + gap_x), pad + i * (h + gap_y))
        width = pad * 2 + (max(cols) + 1) * (w + gap_x) - gap_x
        height = pad * 2 + max(len(c) for c in cols.values()) * (h + gap_y) - gap_y
        recalled_desc: set[bytes] = set()
        for imp in self.r.impacts:
            recalled_desc.update(bytes.fromhex(f["batch"][2:]) for f in imp.forward)
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="Genealogy graph">',
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
            'fill="#8a94a3"/></marker></defs>',
        ]
        for b in nodes:
            x2, y2 = pos[b.batch_id]
            for p in b.parents:
                if p not in pos:
                    continue
                x1, y1 = pos[p]
                sx, sy, tx, ty = x1 + w, y1 + h / 2, x2, y2 + h / 2
                mx = (sx + tx) / 2
                parts.append(
                    f'<path d="M{sx:.0f},{sy:.0f} C{mx:.0f},{sy:.0f} {mx:.0f},{ty:.0f} '
                    f'{tx - 2:.0f},{ty:.0f}" fill="none" stroke="#8a94a3" stroke-width="1.6" '
                    'marker-end="url(#arrow)"/>'
                )
        for b in nodes:
            x, y = pos[b.batch_id]
            c = b.commissioned
            assert c is not None
            colour = STATUS_COLOURS.get(b.status, "#5f6b7a")
            bad = b.batch_id in self.bad_batches
            fill = "#fff4f3" if b.batch_id in recalled_desc else "#ffffff"
            stroke = "#c62828" if bad else "#b8c0cc"
            dash = ' stroke-dasharray="5 3"' if bad else ""
            tip = (
                f"{b.path}\nproducer: {self.ledger.org_label(b.producer)}\n"
                f"status: {b.status.name}\nholder: {self.ledger.org_label(b.holder)}\n"
                f"{c.quantity} {c.unit}, produced {yyyymmdd(c.production_date)}, "
                f"expires {yyyymmdd(c.expiry_date)}"
            )
            parts.append(
                f"<g><title>{e(tip)}</title>"
                f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="7" fill="{fill}" '
                f'stroke="{stroke}" '
                f'stroke-width="{2 if bad else 1.2}"{dash}/>'
                f'<rect x="{x}" y="{y}" width="7" height="{h}" rx="3" fill="{colour}"/>'
                f'<text x="{x + 16}" y="{y + 20}" font-size="13" font-weight="600" fill="#1d232b">'
                f"{e(c.lot)}</text>"
                f'<text x="{x + w - 8}" y="{y + 20}" font-size="10.5" text-anchor="end" '
                f'fill="{colour}" font-weight="700">{e(b.status.name)}</text>'
                f'<text x="{x + 16}" y="{y + 37}" font-size="11" fill="#5b6573">GTIN {e(c.gtin)} · '
                f"{c.quantity:,} {e(c.unit)}</text>"
                f'<text x="{x + 16}" y="{y + 54}" font-size="11" fill="#5b6573">'
                f"{e(_clip('at ' + self.ledger.org_label(b.holder), 34))}</text></g>"
            )
        parts.append("</svg>")
        legend = "".join(
            f'<span><i class="swatch" style="background:{col}"></i>{s.name.lower()}</span>'
            for s, col in STATUS_COLOURS.items()
            if s != Status.UNKNOWN
        )
        more = (
            f'<p class="note">Showing the first {MAX_GRAPH_NODES} of {len(self.batches)} '
            "batches; the JSON report has all of them.</p>"
            if len(self.batches) > MAX_GRAPH_NODES
            else ""
        )
        return (
            '<section id="genealogy"><h2>Genealogy</h2>'
            '<p class="note">Raw-milk collections on the left, what was made from them to the '
            "right. Colour bar: status. Dashed red border: a batch with a violation. "
            "Pink fill: made from a recalled batch. Hover a box for details.</p>"
            f'<div class="legend">{legend}</div><div class="scroll">{"".join(parts)}</div>'
            f"{more}</section>"
        )

    # ------------------------------------------------------------------ timeline

    def timeline(self) -> str:
        depth = self.depths()
        rows = sorted(
            self.batches,
            key=lambda b: (
                depth.get(b.batch_id, 0),
                b.commissioned.event_time if b.commissioned else 0,
            ),
        )
        rows = rows[:MAX_TIMELINE_ROWS]
        times = [
            ev.event_time
            for b in rows
            for ev in b.events
            if isinstance(ev, RecordEvent) and getattr(ev, "event_time", 0) > 0
        ]
        if not times:
            return ""
        t_min: float = min(times)
        t_max: float = max(times)
        span = max(t_max - t_min, 3600)
        t_min -= span * 0.02
        t_max += span * 0.04
        label_w, plot_w, row_h, top = 250, 900, 30, 34
        most = max(sum(1 for ev in b.events if isinstance(ev, RecordEvent)) for b in rows)
        width = label_w + plot_w + 20 + min(most * 9, 400)  # room for nudged marks
        height = top + row_h * len(rows) + 30

        def x(t: float) -> float:
            return label_w + (t - t_min) / (t_max - t_min) * plot_w

        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="Timeline">'
        ]
        # date ticks
        day = 86_400
        step = day
        for s in (day, 2 * day, 7 * day, 14 * day, 30 * day, 91 * day, 365 * day):
            step = s
            if (t_max - t_min) / s <= 10:
                break
        tick = int(t_min // step + 1) * step
        while tick < t_max:
            tx = x(tick)
            parts.append(
                f'<line x1="{tx:.1f}" y1="{top - 8}" x2="{tx:.1f}" y2="{height - 24}" '
                'stroke="#e6e9ee"/>'
                f'<text x="{tx:.1f}" y="{top - 14}" font-size="10.5" fill="#5b6573" '
                f'text-anchor="middle">{date_text(tick)}</text>'
            )
            tick += step
        for i, b in enumerate(rows):
            y = top + i * row_h
            mid = y + row_h / 2
            if i % 2 == 0:
                parts.append(
                    f'<rect x="0" y="{y}" width="{width}" height="{row_h}" fill="#f8f9fb"/>'
                )
            c = b.commissioned
            label = f"{c.lot} · {self.ledger.org_label(b.producer)}" if c else hex0x(b.batch_id)
            parts.append(
                f'<text x="8" y="{mid + 4:.0f}" font-size="12" fill="#1d232b">'
                f"<title>{e(b.path or '')}</title>{e(_clip(label, 38))}</text>"
            )
            # custody bars: holder from commissioning / accept to the next accept
            spans: list[tuple[int, str]] = []
            last_t = 0
            for ev in b.events:
                if isinstance(ev, BatchCommissioned) and ev is c:
                    spans.append((ev.event_time, ev.actor))
                elif isinstance(ev, CustodyAccepted):
                    spans.append((ev.event_time, ev.actor))
                if isinstance(ev, RecordEvent):
                    last_t = max(last_t, getattr(ev, "event_time", 0))
            end_t = max(last_t, t_max - span * 0.02)
            for j, (start, holder) in enumerate(spans):
                stop = spans[j + 1][0] if j + 1 < len(spans) else end_t
                x1, x2 = x(start), max(x(stop), x(start) + 2)
                col = self.colour.get(holder, "#999")
                parts.append(
                    f'<rect x="{x1:.1f}" y="{mid - 4:.1f}" width="{x2 - x1:.1f}" height="8" '
                    f'rx="3" fill="{col}" opacity="0.55"><title>{e(self.ledger.org_label(holder))} '
                    f"holds it from {e(iso(start))}</title></rect>"
                )
            # marks in time order, nudged apart so that none hides another (the tooltip keeps
            # the exact time)
            marks = sorted(
                (ev for ev in b.events if isinstance(ev, RecordEvent)),
                key=lambda ev: (ev.event_time, ev.block, ev.log_index),
            )
            last_x = -1e9
            for ev in marks:
                cx = max(x(ev.event_time), last_x + 9)
                last_x = cx
                parts.append(self.marker(ev, cx, mid))
        # legend rows under the plot
        parts.append("</svg>")
        orgs = "".join(
            f'<span><i class="swatch" style="background:{col};opacity:.7"></i>'
            f"{e(self.ledger.org_label(a))}</span>"
            for a, col in self.colour.items()
            if any(a in b.custody for b in rows)
        )
        shapes = (
            '<span>◆ commissioned</span><span style="color:#1a7f37">● test passed</span>'
            '<span style="color:#c62828">● test failed</span><span style="color:#1f77b4">'
            '▲ cold chain</span><span style="color:#ff7f0e">▲ cold-chain alarm</span>'
            "<span>▸ hand-over offered</span><span>■ status (colour: status)</span>"
            "<span>◇ anchored EPCIS event</span>"
            '<span style="color:#c62828">◯ red ring: violation</span>'
        )
        more = (
            f'<p class="note">Showing {MAX_TIMELINE_ROWS} of {len(self.batches)} batches.</p>'
            if len(self.batches) > MAX_TIMELINE_ROWS
            else ""
        )
        return (
            '<section id="timeline"><h2>Timeline</h2><p class="note">Source event times '
            "(as the producers' systems stated them). Bars: who held the batch; marks: "
            "records. Hover for details.</p>"
            f'<div class="legend">{shapes}</div><div class="legend">{orgs}</div>'
            f'<div class="scroll">{"".join(parts)}</div>{more}</section>'
        )

    def marker(self, ev: RecordEvent, cx: float, cy: float) -> str:
        who = self.ledger.org_label(ev.actor)
        tip = f"{ev.kind} · {iso(getattr(ev, 'event_time', None))} · {who}"
        detail = _details(ev, self.ledger)[1]
        if detail:
            tip += "\n" + detail
        if isinstance(ev, QualityRecorded):
            col = "#1a7f37" if ev.passed else "#c62828"
            shape = f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="5" fill="{col}" stroke="#fff"/>'
        elif isinstance(ev, ConditionRecorded):
            col = "#ff7f0e" if ev.alarm else "#1f77b4"
            shape = (
                f'<path d="M{cx:.1f},{cy - 6:.1f} L{cx + 5.5:.1f},{cy + 4:.1f} '
                f'L{cx - 5.5:.1f},{cy + 4:.1f} z" fill="{col}" stroke="#fff"/>'
            )
        elif isinstance(ev, BatchStatusChanged):
            col = STATUS_COLOURS.get(ev.status, "#555")
            shape = (
                f'<rect x="{cx - 5:.1f}" y="{cy - 5:.1f}" width="10" height="10" fill="{col}" '
                'stroke="#fff"/>'
            )
        elif isinstance(ev, BatchCommissioned):
            shape = (
                f'<path d="M{cx:.1f},{cy - 7:.1f} L{cx + 6:.1f},{cy:.1f} L{cx:.1f},{cy + 7:.1f} '
                f'L{cx - 6:.1f},{cy:.1f} z" fill="#12263a" stroke="#fff"/>'
            )
        elif isinstance(ev, EventAnchored):
            shape = (
                f'<path d="M{cx:.1f},{cy - 6:.1f} L{cx + 5:.1f},{cy:.1f} L{cx:.1f},{cy + 6:.1f} '
                f'L{cx - 5:.1f},{cy:.1f} z" fill="#fff" stroke="#12263a" stroke-width="1.4"/>'
            )
        elif isinstance(ev, CustodyHandedOver):
            shape = (
                f'<path d="M{cx - 3:.1f},{cy - 6:.1f} L{cx + 5:.1f},{cy:.1f} '
                f'L{cx - 3:.1f},{cy + 6:.1f} z" fill="#5b6573"/>'
            )
        elif isinstance(ev, CustodyHandOverCancelled):
            shape = (
                f'<path d="M{cx - 4:.1f},{cy - 4:.1f} L{cx + 4:.1f},{cy + 4:.1f} M{cx + 4:.1f},'
                f'{cy - 4:.1f} L{cx - 4:.1f},{cy + 4:.1f}" stroke="#5b6573" stroke-width="2"/>'
            )
        else:  # accepted: the bar colour changes there
            shape = f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="2.5" fill="#5b6573"/>'
        ring = ""
        if (ev.block, ev.log_index) in self.flagged:
            ring = (
                f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="10" fill="none" stroke="#c62828" '
                'stroke-width="2.2"/>'
            )
            tip += "\nVIOLATION: " + ", ".join(self.flagged[(ev.block, ev.log_index)])
        return f"<g><title>{e(tip)}</title>{shape}{ring}</g>"

    # ------------------------------------------------------------------ recall impact

    def impacts(self) -> str:
        if not self.r.impacts:
            return (
                '<section id="recalls"><h2>Recall impact</h2><p class="note">No batch is '
                "recalled.</p></section>"
            )
        out = ['<section id="recalls"><h2>Recall impact</h2>']
        for imp in self.r.impacts:
            rc = imp.recall
            head = f"<h3>{self.batch(imp.batch_id)} — {e(imp.status.name)}</h3>"
            if rc is not None:
                head += (
                    f'<p class="note">Recalled by {self.org(rc.actor)} on '
                    f"{e(iso(rc.event_time))}, reason <b>{e(rc.reason)}</b>, block {rc.block}, "
                    f'tx <code title="{e(rc.tx)}">{e(short(rc.tx, 12))}</code>.</p>'
                )
            out.append(head)
            if imp.forward:
                rows = "".join(
                    f"<tr><td><code>{e(f['batchPath'] or f['batch'])}</code></td>"
                    f"<td>{f['generation']}</td>"
                    f"<td>{e(f['status'])}</td><td>{self.org(f['holder'])}</td>"
                    f"<td>{self.org(f['pending']) if f['pending'] else ''}</td></tr>"
                    for f in imp.forward
                )
                out.append(
                    "<b>Forward — everything made from it, and who holds it now</b>"
                    "<table><tr><th>batch</th><th>generation</th><th>status</th>"
                    f"<th>holder now</th><th>offered to</th></tr>{rows}</table>"
                )
            else:
                out.append('<p class="note">Forward: nothing was made from this batch.</p>')
            if imp.backward:
                rows = "".join(
                    f"<tr><td><code>{e(f['batchPath'] or f['batch'])}</code></td>"
                    f"<td>{f['generation']}</td>"
                    f"<td>{self.org(f['producer'])}</td>"
                    f"<td><code>{e(f['siteGln'] or '')}</code></td>"
                    f"<td>{f['quantity']:,} {e(f['unit'])}</td>"
                    f"<td>{'raw-milk collection' if f['rawCollection'] else 'intermediate'}</td>"
                    f"</tr>"
                    for f in imp.backward
                )
                out.append(
                    "<b>Backward — what it was made from, back to the farms</b>"
                    "<table><tr><th>batch</th><th>generation</th><th>producer</th>"
                    f"<th>site GLN</th><th>quantity</th><th></th></tr>{rows}</table>"
                )
            else:
                out.append('<p class="note">Backward: no inputs recorded (a raw collection).</p>')
        out.append("</section>")
        return "".join(out)

    # ------------------------------------------------------------------ documents

    def documents(self) -> str:
        d = self.r.documents
        if d is None:
            return ""

        def recs(records: Iterable[dict[str, Any]]) -> str:
            return "<br>".join(
                f"<code>{e(x['batchPath'] or x['batch'])}</code> "
                f"{e(x.get('test') or x.get('status'))}"
                + (f" ({'pass' if x.get('passed') else 'fail'})" if "passed" in x else "")
                + f" · block {x['block']}"
                for x in records
            )

        rows = [
            f'<tr><td><span class="pill" style="background:var(--ok)">matched</span></td>'
            f"<td>{e(m['file'])}</td><td><code>{e(short(m['sha256'], 16))}</code></td>"
            f"<td>{recs(m['records'])}</td></tr>"
            for m in d.matched
        ]
        rows += [
            f'<tr><td><span class="pill" style="background:var(--warn)">not on chain</span></td>'
            f"<td>{e(m['file'])}</td>"
            f"<td><code>{e(short(m['sha256'], 16))}</code></td><td></td></tr>"
            for m in d.not_on_chain
        ]
        rows += [
            f'<tr class="flagged"><td><span class="pill" style="background:var(--bad)">missing'
            f'</span></td><td class="note">no file</td><td><code>{e(short(m["sha256"], 16))}'
            f"</code></td><td>{recs(m['records'])}</td></tr>"
            for m in d.missing
        ]
        return (
            f'<section id="documents"><h2>Documents in <code>{e(d.directory)}</code></h2>'
            f'<p class="note">{len(d.matched)} matched · {len(d.not_on_chain)} not on chain · '
            f"{len(d.missing)} on chain but missing. Not a check: reported for the auditor.</p>"
            "<table><tr><th></th><th>file</th><th>sha-256</th><th>on-chain records</th></tr>"
            f"{''.join(rows)}</table></section>"
        )

    # ------------------------------------------------------------------ organisations

    def organisations(self) -> str:
        rows = []
        for o in self.ledger.orgs.values():
            hist = "<br>".join(
                f'{"+" if rc.granted else "−"} {e(rc.role)} <span class="note">block '
                f"{rc.block}</span>"
                for rc in o.role_history
            )
            col = self.colour.get(o.account)
            sw = f'<i class="swatch" style="background:{col}"></i> ' if col else ""
            name = e(o.name) if o.name else '<span class="note">not admitted</span>'
            if not o.name and o.admin:
                name = '<span class="note">consortium admin (not an organisation)</span>'
            rows.append(
                f"<tr><td>{sw}{name}</td>"
                f"<td>{e(o.country)}</td><td><code>{e(o.gln)}</code></td>"
                f"<td><code>{e(o.account)}</code></td>"
                f"<td>{e(' '.join(role_names(o.roles)) or ('ADMIN' if o.admin else '—'))}</td>"
                f"<td>{o.records}</td><td>{hist}</td></tr>"
            )
        return (
            '<section id="organisations"><h2>Organisations and role history</h2><div '
            'class="scroll">'
            "<table><tr><th>name</th><th>country</th><th>GLN</th><th>account</th>"
            f"<th>roles now</th><th>records</th><th>role history</th></tr>{''.join(rows)}"
            "</table></div></section>"
        )

    # ------------------------------------------------------------------ histories

    def histories(self) -> str:
        out = ['<section id="batches"><h2>Batch histories</h2>']
        rows_left = MAX_HISTORY_ROWS
        for b in self.batches[:MAX_HISTORY_BATCHES]:
            c = b.commissioned
            assert c is not None
            flag = " ⚠" if b.batch_id in self.bad_batches else ""
            parents = ", ".join(self.paths.get(p, hex0x(p)) for p in b.parents) or "—"
            children = ", ".join(self.paths.get(x, hex0x(x)) for x in b.children) or "—"
            out.append(
                f"<details{' open' if b.batch_id in self.bad_batches else ''}><summary>"
                f"{e(c.lot)} <code>{e(b.path)}</code> — {e(b.status.name)}{flag}</summary>"
                f'<dl class="kv"><dt>batch id</dt><dd><code>{e(hex0x(b.batch_id))}</code></dd>'
                f"<dt>producer</dt><dd>{self.org(b.producer)} at site "
                f"<code>{e(c.site_gln)}</code></dd>"
                f"<dt>produced / expires</dt><dd>{yyyymmdd(c.production_date)} / "
                f"{yyyymmdd(c.expiry_date)}</dd><dt>quantity</dt><dd>{c.quantity:,} "
                f"{e(c.unit)}</dd>"
                f"<dt>made from</dt><dd>{e(parents)}</dd><dt>used in</dt><dd>{e(children)}</dd>"
                f"<dt>holder now</dt><dd>{self.org(b.holder)}"
                + (f" (offered to {self.org(b.pending)})" if b.pending else "")
                + "</dd></dl>"
            )
            rows = []
            for ev in b.events:
                if rows_left <= 0:
                    break
                rows_left -= 1
                rows.append(self.event_row(ev))
            out.append(
                "<table><tr><th>block</th><th>event time</th><th>event</th><th>by</th>"
                f"<th>details</th><th>tx</th></tr>{''.join(rows)}</table></details>"
            )
        if len(self.batches) > MAX_HISTORY_BATCHES or rows_left <= 0:
            out.append(
                '<p class="note">Histories are cut short here; the JSON and CSV reports '
                "hold every event.</p>"
            )
        out.append("</section>")
        return "".join(out)

    def event_row(self, ev: DecodedEvent) -> str:
        flags = self.flagged.get((ev.block, ev.log_index))
        counterparty, detail = _details(ev, self.ledger)
        actor = getattr(ev, "actor", None)
        what = e(ev.kind)
        if isinstance(ev, BatchDerived):
            actor = None
        if counterparty:
            arrow = "←" if isinstance(ev, CustodyAccepted) else "→"
            what += f" {arrow} {self.org(counterparty)}"
        if flags:
            what += (
                f' <span class="pill" style="background:var(--bad)">{e(", ".join(flags))}</span>'
            )
        return (
            f"<tr{' class=flagged' if flags else ''}><td>{ev.block}</td>"
            f'<td class="nowrap">{e(when(getattr(ev, "event_time", None)))}</td><td>{what}</td>'
            f'<td>{self.org(actor) if actor else ""}</td><td class="mono">{e(detail)}</td>'
            f'<td><code title="{e(ev.tx)}">{e(short(ev.tx, 10))}</code></td></tr>'
        )

    def footer(self) -> str:
        p = self.r.policy.as_dict()
        req = ", ".join("/".join(r) for r in p["release"]["require"])
        return (
            '<section id="policy"><h2>Policy</h2><dl class="kv">'
            f"<dt>source</dt><dd>{e(p['source'])}</dd>"
            f"<dt>release</dt><dd>{e(req)} before the first hand-over by the producer, for "
            f"{e(p['release']['appliesTo'])} batches</dd>"
            f"<dt>after a recall</dt><dd>{e(', '.join(p['recall']['allowed']))} (return to "
            f"{e(', '.join(p['recall']['returnTo']))})</dd>"
            f"<dt>duplicates</dt><dd>{e(p['duplicates'])}</dd></dl>"
            '<p class="note">Generated by <code>milktrace audit</code> from the chain alone: '
            "every fact above is an event log or a contract view at the audited block.</p>"
            "</section>"
        )

    def render(self) -> str:
        title = "milktrace audit — " + ("passed" if self.r.passed else "violations found")
        body = "".join(
            [
                self.header(),
                "<main>",
                self.checks(),
                self.violations(),
                self.genealogy(),
                self.timeline(),
                self.impacts(),
                self.documents(),
                self.organisations(),
                self.histories(),
                self.footer(),
                "</main>",
            ]
        )
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(title)}</title><style>{CSS}</style></head><body>{body}</body></html>\n"
        )


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def render_html(report: AuditReport) -> str:
    return Html(report).render()
