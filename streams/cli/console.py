"""Terminal rendering: the `tail` rows and the demo's summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import orjson
from rich.console import Console
from rich.table import Table

from streams.contract.models import ClaimVerdict, DeadLetter, LineVerdict
from streams.settings import Settings
from streams.stream.kafka.clients import follow

_STYLE = {"pass": "green", "warn": "yellow", "fail": "red", "out_of_scope": "dim"}


def verdict_row(v: LineVerdict) -> str:
    codes = ", ".join(f.code for f in v.findings) or "-"
    style = _STYLE.get(v.disposition.value, "")
    return (
        f"[{style}]{v.disposition.value:<12}[/{style}] {v.hcpcs} line {v.line_number:<3} "
        f"event {v.event_id}  {codes}"
    )


async def tail_verdicts(
    settings: Settings,
    as_json: bool,
    from_beginning: bool,
    dead_letters: bool,
    idle_exit: float | None,
) -> None:
    console = Console(highlight=False)
    topics = [settings.topic_verdicts] + ([settings.topic_dead_letters] if dead_letters else [])
    async for record in follow(settings, topics, from_beginning, idle_exit):
        if as_json:
            print(record.value.decode(), flush=True)
        elif record.topic == settings.topic_dead_letters:
            dl = DeadLetter.model_validate_json(record.value)
            console.print(
                f"[magenta]dead letter [/magenta] {dl.reason.value}: {dl.detail} "
                f"(partition {dl.source.partition}, offset {dl.source.offset})"
            )
        else:
            console.print(verdict_row(LineVerdict.model_validate_json(record.value)))


def summary_tables(
    verdicts: Iterable[LineVerdict],
    letters: Iterable[DeadLetter],
    claims: Iterable[ClaimVerdict] = (),
) -> list[Table]:
    verdicts, letters, claims = list(verdicts), list(letters), list(claims)
    dispositions = Counter(v.disposition.value for v in verdicts)
    table = Table(title=f"{len(verdicts)} line verdicts, {len(letters)} dead letters")
    table.add_column("disposition")
    table.add_column("lines", justify="right")
    for name in ("pass", "warn", "fail", "out_of_scope"):
        table.add_row(f"[{_STYLE[name]}]{name}[/{_STYLE[name]}]", str(dispositions.get(name, 0)))
    for reason, n in sorted(Counter(d.reason.value for d in letters).items()):
        table.add_row(f"[magenta]dead letter: {reason}[/magenta]", str(n))

    ctable = Table(title=f"{len(claims)} claim verdicts")
    for col in ("disposition", "complete", "claims"):
        ctable.add_column(col)
    for (disposition, complete), n in sorted(
        Counter((c.disposition.value, c.complete) for c in claims).items()
    ):
        style = _STYLE[disposition]
        ctable.add_row(f"[{style}]{disposition}[/{style}]", "yes" if complete else "no", str(n))

    all_findings = [f for v in verdicts for f in v.findings] + [
        f for c in claims for f in c.findings
    ]
    findings = Counter((f.category.value, f.code, f.severity.value) for f in all_findings)
    ftable = Table(title="findings on lines and claims")
    for col in ("category", "code", "severity"):
        ftable.add_column(col)
    ftable.add_column("count", justify="right")
    for (category, code, severity), n in sorted(findings.items()):
        ftable.add_row(category, code, severity, str(n))
    return [table, ctable, ftable]


def decode_record(topic: str, value: bytes, settings: Settings) -> LineVerdict | DeadLetter:
    if topic == settings.topic_dead_letters:
        return DeadLetter.model_validate(orjson.loads(value))
    return LineVerdict.model_validate(orjson.loads(value))
