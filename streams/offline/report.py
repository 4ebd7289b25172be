"""`j9262 validate --report`: a self-contained HTML summary for a billing team.

One file, inline CSS, no scripts and nothing fetched from the network, so it
opens anywhere and can be mailed. It shows what a billing team already sees in
the verdicts (claim id, line number, HCPCS, payer, charge, edits, fixes), never a
patient's id, name or birth date. Memory is bounded: counts per disposition,
edit and payer, and only the `top` most urgent lines are kept.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from html import escape

from streams.contract.encoding import PlainClaimVerdict
from streams.contract.models import ClaimLineEvent, DeadLetter, LineVerdict
from streams.offline.runner import first_suggestion, worst_severity

DISPOSITIONS = ("fail", "warn", "pass", "out_of_scope")
_URGENCY = {"fail": 1, "warn": 0}
_SEVERITY = {"error": 2, "warning": 1, "info": 0, "": 0}


@dataclass(frozen=True)
class LineToFix:
    claim_id: str
    line_number: int
    hcpcs: str
    payer_id: str
    charge: Decimal | None
    disposition: str
    severity: str
    edits: tuple[str, ...]
    fix: str


@dataclass
class PayerCounts:
    lines: Counter[str] = field(default_factory=Counter)
    failing_charges: Decimal = Decimal(0)


@dataclass
class Report:
    """Counts fed by `streams.offline.runner.run` as it writes each output."""

    top: int = 50
    dispositions: Counter[str] = field(default_factory=Counter)
    edits: Counter[str] = field(default_factory=Counter)
    edit_severity: dict[str, str] = field(default_factory=dict)
    payers: dict[str, PayerCounts] = field(default_factory=dict)
    claims: Counter[str] = field(default_factory=Counter)
    dead_letters: Counter[str] = field(default_factory=Counter)
    ruleset_version: str = ""
    reference_data_version: str = ""
    _to_fix: list[tuple[tuple[int, int, Decimal], int, LineToFix]] = field(default_factory=list)
    _seq: itertools.count[int] = field(default_factory=itertools.count)

    def add_line(self, event: ClaimLineEvent | None, verdict: LineVerdict) -> None:
        disposition = verdict.disposition.value
        self.dispositions[disposition] += 1
        self.ruleset_version = verdict.ruleset_version
        self.reference_data_version = verdict.reference_data_version
        for code in dict.fromkeys(f.code for f in verdict.findings):
            self.edits[code] += 1
        for f in verdict.findings:
            known = self.edit_severity.get(f.code, "")
            if _SEVERITY[f.severity.value] >= _SEVERITY[known]:
                self.edit_severity[f.code] = f.severity.value
        payer_id = event.claim.payer.payer_id if event is not None else "(unknown)"
        charge = event.line.charge_amount if event is not None else None
        payer = self.payers.setdefault(payer_id, PayerCounts())
        payer.lines[disposition] += 1
        if disposition == "fail" and charge is not None:
            payer.failing_charges += charge
        if disposition not in _URGENCY:
            return
        severity = worst_severity(verdict)
        line = LineToFix(
            claim_id=verdict.claim_id,
            line_number=verdict.line_number,
            hcpcs=verdict.hcpcs,
            payer_id=payer_id,
            charge=charge,
            disposition=disposition,
            severity=severity,
            edits=tuple(f.code for f in verdict.findings),
            fix=first_suggestion(verdict),
        )
        urgency = (_URGENCY[disposition], _SEVERITY[severity], charge or Decimal(0))
        # Among equally urgent lines the earlier one stays: it has the larger tie-break.
        entry = (urgency, -next(self._seq), line)
        if len(self._to_fix) < self.top:
            heapq.heappush(self._to_fix, entry)
        else:
            heapq.heappushpop(self._to_fix, entry)

    def add_dead_letter(self, letter: DeadLetter) -> None:
        self.dead_letters[letter.reason.value] += 1

    def add_claim(self, verdict: PlainClaimVerdict) -> None:
        self.claims[verdict.disposition.value] += 1

    def lines_to_fix(self) -> list[LineToFix]:
        """Fail before warn, then the most serious finding, then the largest charge."""
        return [line for _, _, line in sorted(self._to_fix, reverse=True)]

    def render(self, source: str, generated_at: datetime | None = None) -> str:
        return _page(self, source, generated_at or datetime.now(UTC))


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2433;
margin:0;background:#f4f6f9}
main{max-width:1200px;margin:0 auto;padding:24px 32px 48px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:32px 0 8px}
.meta{color:#5b6578;margin:0 0 20px}
.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{background:#fff;border:1px solid #dde2ea;border-radius:8px;padding:12px 16px;min-width:120px}
.card .n{font-size:26px;font-weight:600}
.card .l{color:#5b6578;font-size:12px;text-transform:uppercase}
.card.fail{border-top:4px solid #c62828}.card.warn{border-top:4px solid #ef8f00}
.card.pass{border-top:4px solid #2e7d32}.card.out_of_scope{border-top:4px solid #90a4ae}
.card.dead{border-top:4px solid #7b1fa2}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #dde2ea}
th,td{padding:6px 10px;border-bottom:1px solid #e7ebf0;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600;font-size:12px;text-transform:uppercase;color:#3c4658}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.tag{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600}
.tag.fail{background:#fde0e0;color:#a31515}.tag.warn{background:#fff0d6;color:#8a5300}
.tag.pass{background:#e2f4e4;color:#1f6326}.tag.out_of_scope{background:#eceff1;color:#455a64}
code{font:12px ui-monospace,Menlo,Consolas,monospace;white-space:nowrap}
.grid{display:grid;grid-template-columns:repeat(3,1fr);gap:20px}
.empty{color:#5b6578;font-style:italic}
"""


def _money(amount: Decimal | None) -> str:
    return "" if amount is None else f"${amount:,.2f}"


def _tag(disposition: str) -> str:
    return f'<span class="tag {escape(disposition)}">{escape(disposition)}</span>'


def _table(headers: list[str], rows: list[list[str]], numeric: set[int], table_id: str) -> str:
    """An HTML table; cells are already escaped HTML."""
    if not rows:
        return f'<p class="empty" id="{table_id}">None.</p>'
    head = "".join(
        f'<th class="num">{h}</th>' if i in numeric else f"<th>{h}</th>"
        for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _page(report: Report, source: str, generated_at: datetime) -> str:
    from streams.validation.rules.catalog import CATALOG

    lines = sum(report.dispositions.values())
    letters = sum(report.dead_letters.values())
    cards = [
        ("lines", "verdicts", lines),
        *((d, d.replace("_", " "), report.dispositions[d]) for d in DISPOSITIONS),
        ("dead", "dead letters", letters),
    ]
    card_html = "".join(
        f'<div class="card {cls}"><div class="n" id="count-{cls}">{n:,}</div>'
        f'<div class="l">{escape(label)}</div></div>'
        for cls, label, n in cards
    )
    by_disposition = [
        [_tag(d), f"{report.dispositions[d]:,}", f"{report.dispositions[d] / lines:.1%}"]
        for d in DISPOSITIONS
        if lines
    ]
    by_edit = []
    for code, n in report.edits.most_common():
        edit = CATALOG.get(code)
        by_edit.append(
            [
                f"<code>{escape(code)}</code>",
                escape(edit.title if edit else ""),
                escape(report.edit_severity.get(code, "")),
                f"{n:,}",
            ]
        )
    by_payer = [
        [
            escape(payer_id),
            f"{sum(p.lines.values()):,}",
            *(f"{p.lines[d]:,}" for d in DISPOSITIONS),
            _money(p.failing_charges),
        ]
        for payer_id, p in sorted(
            report.payers.items(), key=lambda item: (-item[1].lines["fail"], item[0])
        )
    ]
    to_fix = [
        [
            str(rank),
            f"<code>{escape(line.claim_id)}</code>",
            str(line.line_number),
            escape(line.hcpcs),
            escape(line.payer_id),
            _money(line.charge),
            _tag(line.disposition),
            " ".join(f"<code>{escape(c)}</code>" for c in line.edits),
            escape(line.fix),
        ]
        for rank, line in enumerate(report.lines_to_fix(), start=1)
    ]
    claims = [[_tag(d), f"{report.claims[d]:,}"] for d in DISPOSITIONS if report.claims[d]]
    dead = [[escape(r), f"{n:,}"] for r, n in sorted(report.dead_letters.items())]
    versions = (
        f"ruleset {escape(report.ruleset_version)}, reference data "
        f"{escape(report.reference_data_version)}"
        if report.ruleset_version
        else "no verdicts"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Claim line validation report: {escape(source)}</title>
<style>{_CSS}</style></head>
<body><main>
<h1>Claim line validation report</h1>
<p class="meta">{escape(source)} &middot; generated {generated_at:%Y-%m-%d %H:%M} UTC
&middot; {versions}</p>
<div class="cards">{card_html}</div>
<div class="grid"><section>
<h2>Lines by disposition</h2>
{_table(["disposition", "lines", "share"], by_disposition, {1, 2}, "by-disposition")}
</section><section>
<h2>Claims</h2>
{_table(["claim disposition", "claims"], claims, {1}, "claims")}
</section><section>
<h2>Dead letters</h2>
{_table(["reason", "lines"], dead, {1}, "dead-letters")}
</section></div>
<p class="meta">Dead letters are lines that could not be read as events; the dead-letter
file has each one with its original bytes.</p>
<h2>Edits</h2>
<p class="meta">Lines carrying each edit (docs/edits.md explains each one and its fix).</p>
{_table(["code", "description", "severity", "lines"], by_edit, {3}, "by-edit")}
<h2>Payers</h2>
{
        _table(
            ["payer", "lines", "fail", "warn", "pass", "out of scope", "charges on failing lines"],
            by_payer,
            {1, 2, 3, 4, 5, 6},
            "by-payer",
        )
    }
<h2>Lines to fix first</h2>
<p class="meta">Failing lines before warnings, then the most serious edit, then the largest
charge; the {report.top} most urgent at most.</p>
{
        _table(
            ["#", "claim", "line", "HCPCS", "payer", "charge", "verdict", "edits", "suggested fix"],
            to_fix,
            {0, 2, 5},
            "to-fix",
        )
    }
</main></body></html>
"""
