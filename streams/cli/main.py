"""The `j9262` command: broker, worker, produce, tail, redrive, validate, demo, schemas."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections import Counter
from collections.abc import Coroutine, Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

from streams.contract.models import DeadLetterReason
from streams.settings import SETTINGS_EXIT_CODE, Settings, settings_error

if TYPE_CHECKING:
    from streams.refdata import PayerPolicy, ReferenceData

T = TypeVar("T")
EXIT_BAD_REFDATA_CLI = 1
"""`refdata check`, `refdata show` and `validate` on reference data that fails its checks."""
REASONS = [r.value for r in DeadLetterReason]


class SettingsError(click.ClickException):
    exit_code = SETTINGS_EXIT_CODE


def _settings() -> Settings:
    """The settings from the environment; a bad value is one line naming its variable."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(settings_error(exc)) from None


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a client coroutine; an unreachable broker or missing topic is a one-line error."""
    from aiokafka.errors import KafkaError

    try:
        return asyncio.run(coro)
    except (KafkaError, RuntimeError) as exc:
        raise click.ClickException(f"{exc} (J9262_BROKER_URL={_settings().broker_url})") from exc


def _reference_data(override: Path | None) -> ReferenceData:
    """Loaded reference data; each error is one line on stderr naming file, line and column,
    then exit 1 (EXIT_BAD_REFDATA_CLI)."""
    from streams import refdata

    try:
        return refdata.load(override)
    except refdata.RefdataError as exc:
        for line in exc.errors:
            click.echo(line, err=True)
        raise click.exceptions.Exit(EXIT_BAD_REFDATA_CLI) from exc


def _exit_on_signal(*_: Any) -> None:
    raise SystemExit(0)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="j9262-validator")
def cli() -> None:
    """Validate HCPCS J9262 (Synribo) claim lines, streaming on Kafka or offline.

    Settings come from J9262_* environment variables; see the README.
    """


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=9092, show_default=True, help="Port to listen on.")
@click.option("--advertised", default=None, help="host:port advertised to clients.")
def broker(host: str, port: int, advertised: str | None) -> None:
    """Run the embedded Tansu broker (memory only) in the foreground until Ctrl-C.

    If the broker process dies, its last output is shown and the command exits with
    its code (128 + the signal if one killed it).
    """
    from streams.stream.kafka.embedded import BrokerDied, EmbeddedBroker

    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        with EmbeddedBroker(port=port, host=host, advertised=advertised, echo=sys.stderr) as b:
            click.echo(f"embedded broker listening on {b.bootstrap} (J9262_BROKER_URL={b.url})")
            with contextlib.suppress(KeyboardInterrupt):
                b.wait()
            click.echo("stopping broker")
    except BrokerDied as exc:
        click.echo(exc.report(), err=True)
        sys.exit(exc.exit_code)


@cli.command()
def worker() -> None:
    """Run the Faust validation worker (SIGTERM or Ctrl-C stops it cleanly)."""
    from streams.stream.worker import run_worker

    sys.exit(run_worker(_settings()))


@cli.command()
@click.argument("file", type=click.File("rb"))
@click.option("--topic", default=None, help="Topic to publish to (default: the lines topic).")
@click.option(
    "--key-by",
    type=click.Choice(["patient", "claim"]),
    default="patient",
    show_default=True,
    help="Record key: patient_id, as docs/contract.md recommends (one hop), or claim_id.",
)
def produce(file: IO[bytes], topic: str | None, key_by: str) -> None:
    """Publish a JSON Lines FILE of claim-line events ('-' for stdin), keyed by patient_id.

    Lines are sent as they are, malformed ones included, so they reach the dead-letter topic.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from streams.stream.kafka.clients import ensure_topics, key_of, patient_key_of, publish

    settings = _settings()
    records = [line.rstrip(b"\r\n") for line in file if line.strip()]
    with Progress(
        TextColumn("publishing"), BarColumn(), MofNCompleteColumn(), transient=True
    ) as progress:
        task = progress.add_task("publish", total=len(records))

        async def go() -> list[tuple[int, int]]:
            await ensure_topics(settings, [topic or settings.topic_lines])
            return await publish(
                settings,
                records,
                lambda n: progress.advance(task, n),
                topic=topic,
                key=patient_key_of if key_by == "patient" else key_of,
            )

        sent = len(_run(go()))
    click.echo(f"published {sent} record(s) to {topic or settings.topic_lines}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print each record as JSON.")
@click.option("--from-beginning", is_flag=True, help="Start at the oldest record.")
@click.option("--dead-letters", is_flag=True, help="Also follow the dead-letter topic.")
@click.option("--idle-exit", type=float, default=None, help="Exit after N idle seconds.")
def tail(as_json: bool, from_beginning: bool, dead_letters: bool, idle_exit: float | None) -> None:
    """Follow verdicts as a readable table, or as JSON with --json."""
    from streams.cli.console import tail_verdicts

    with contextlib.suppress(KeyboardInterrupt):
        _run(tail_verdicts(_settings(), as_json, from_beginning, dead_letters, idle_exit))


@cli.command()
@click.option(
    "--reason",
    "reasons",
    multiple=True,
    type=click.Choice(REASONS),
    help="Send back letters with this reason (repeatable; default: internal_error).",
)
@click.option("--all-reasons", is_flag=True, help="Send back every letter that has a payload.")
@click.option("--dry-run", is_flag=True, help="Count what would be sent back; send nothing.")
@click.option(
    "--from-beginning",
    is_flag=True,
    help="Start at the oldest letter, not where the last run stopped.",
)
@click.option(
    "--idle-exit", type=float, default=5.0, show_default=True, help="Stop after N quiet seconds."
)
def redrive(
    reasons: tuple[str, ...],
    all_reasons: bool,
    dry_run: bool,
    from_beginning: bool,
    idle_exit: float,
) -> None:
    """Send dead letters back to the lines topic, once what failed them is fixed.

    Each letter's original bytes go back with its original key. Runs continue where
    the last one stopped (consumer group <app_id>-redrive).
    """
    from streams.stream.redrive import DEFAULT_REASONS
    from streams.stream.redrive import redrive as run_redrive

    chosen = (
        set(DeadLetterReason)
        if all_reasons
        else {DeadLetterReason(r) for r in reasons} or set(DEFAULT_REASONS)
    )
    settings = _settings()
    summary = _run(
        run_redrive(
            settings, chosen, dry_run=dry_run, from_beginning=from_beginning, idle_exit=idle_exit
        )
    )

    def listed(counts: Counter[str]) -> str:
        return ", ".join(f"{why} {n}" for why, n in sorted(counts.items())) or "none"

    verb = "would send back" if dry_run else f"sent back to {settings.topic_lines}"
    click.echo(f"{verb}: {sum(summary.sent.values())} ({listed(summary.sent)})")
    click.echo(f"left on the dead-letter topic: {listed(summary.skipped)}")


@cli.command()
@click.argument("input", metavar="INPUT")
@click.option("--output", "-o", default=None, help="Line verdicts (default: stdout).")
@click.option("--dead-letters", default=None, help="Write dead letters here (JSON Lines).")
@click.option("--claim-verdicts", default=None, help="Write claim verdicts here (JSON Lines).")
@click.option(
    "--format",
    "line_format",
    type=click.Choice(["jsonl", "csv"]),
    default="jsonl",
    show_default=True,
    help="Line verdicts as JSON Lines, or CSV with one row per line (columns in the README).",
)
@click.option("--report", default=None, help="Write an HTML summary for a billing team here.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary line.")
@click.option(
    "--input-format",
    type=click.Choice(["auto", "jsonl", "x12", "hl7", "fhir"]),
    default="auto",
    show_default=True,
    help="The input's format; auto reads the first bytes (docs/inputs.md).",
)
def validate(  # noqa: PLR0917 - one parameter per option
    input: str,
    output: str | None,
    dead_letters: str | None,
    claim_verdicts: str | None,
    line_format: str,
    report: str | None,
    quiet: bool,
    input_format: str,
) -> None:
    """Validate a file of claim lines offline ('-' for stdin), with the stream's rules.

    The file is JSON Lines of events, X12 837P/837I, HL7 v2 DFT^P03 (plain or MLLP) or
    FHIR R4 JSON (a Claim, a Bundle, or NDJSON), told apart by its first bytes.
    Outputs are written to a temporary file beside each one and renamed into place
    when the run ends, so a failed run leaves them as they were; an output that is
    the input is refused. Exits 0 when the file was processed, whatever the verdicts say.
    """
    from streams.offline import inputs
    from streams.offline import runner as offline
    from streams.offline.report import Report
    from streams.validation.validator import Validator

    settings = _settings()
    tally = inputs.Tally()
    try:
        with offline.open_input(input) as raw_source:
            fmt, source = inputs.open_detected(raw_source, input_format)
            adapter_options = inputs.options(settings)
            targets = offline.plan_outputs(
                source,
                input,
                {
                    "--output": output,
                    "--dead-letters": dead_letters,
                    "--claim-verdicts": claim_verdicts,
                    "--report": report,
                },
            )
            validator = Validator(_reference_data(settings.refdata_dir))
            name = "-" if input == "-" else f"file:{Path(input).name}"
            summary_report = Report() if report else None
            pieces = None if fmt is inputs.Format.JSON_LINES else inputs.chunks(source)
            with (
                offline.atomic_outputs(targets) as files,
                _progress(source, quiet, pieces) as lines,
            ):

                def produce(histories: Any) -> inputs.Produced:
                    return inputs.adapted_results(
                        validator,
                        inputs.split(lines, fmt),
                        fmt,
                        source_name=name,
                        max_bytes=settings.max_message_bytes,
                        duplicate_window_days=settings.duplicate_window_days,
                        histories=histories,
                        adapter_options=adapter_options,
                        tally=tally,
                    )

                summary = offline.run(
                    validator,
                    lines,
                    source_name=name,
                    max_bytes=settings.max_message_bytes,
                    out=files["--output"] or sys.stdout.buffer,
                    dead_out=files["--dead-letters"],
                    claims_out=files["--claim-verdicts"],
                    duplicate_window_days=settings.duplicate_window_days,
                    line_format=line_format,
                    report=summary_report,
                    produce=None if pieces is None else produce,
                )
                if summary_report is not None and files["--report"] is not None:
                    label = "standard input" if input == "-" else Path(input).name
                    files["--report"].write(summary_report.render(label).encode())
    except offline.Misuse as exc:
        raise click.ClickException(str(exc)) from None
    except BrokenPipeError:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - Python flushes stdout at exit
        raise click.ClickException("standard output closed early; files not written") from None
    except OSError as exc:
        raise click.ClickException(f"validate stopped, no file written: {exc}") from None
    if quiet:
        return
    counts = ", ".join(f"{k} {v}" for k, v in sorted(summary.by_disposition.items()))
    click.echo(
        f"{summary.lines} line(s): {summary.verdicts} verdict(s) ({counts or 'none'}), "
        f"{summary.dead_letters} dead letter(s)"
        + (f", {summary.claims} claim verdict(s)" if claim_verdicts else "")
        + inputs.credits_note(tally),
        err=True,
    )


@contextlib.contextmanager
def _progress(
    source: IO[bytes], quiet: bool, pieces: Iterable[bytes] | None = None
) -> Iterator[Iterable[bytes]]:
    """The input's lines (or `pieces` of it), with a progress bar on stderr when it is a
    terminal."""
    parts = source if pieces is None else pieces
    if quiet or not sys.stderr.isatty():
        yield parts
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    try:
        total: int | None = os.fstat(source.fileno()).st_size or None
    except (OSError, ValueError):
        total = None
    with Progress(
        TextColumn("validating"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task("validate", total=total)

        def lines() -> Iterator[bytes]:
            read = 0
            for number, line in enumerate(parts, start=1):
                read += len(line)
                if pieces is not None or number % 1000 == 0:
                    progress.update(task, completed=read)
                yield line
            progress.update(task, completed=read)

        yield lines()


@cli.command()
@click.option("--port", type=int, default=None, help="Broker port (default: a free one).")
@click.option("--timeout", type=float, default=180, show_default=True, help="Seconds to wait.")
def demo(port: int | None, timeout: float) -> None:
    """Start the embedded broker and a worker, publish the bundled sample, summarize, stop."""
    from streams.cli.demo import run_demo

    sys.exit(run_demo(port, timeout))


@cli.command()
@click.option("--markdown", is_flag=True, help="Print docs/rules.md instead of a table.")
@click.option("--category", default=None, help="Only this category.")
def edits(markdown: bool, category: str | None) -> None:
    """List every finding code with its category, severity, why payers deny it, and the fix."""
    from rich.console import Console
    from rich.table import Table

    from streams.validation.rules.catalog import CATALOG, render_markdown

    if markdown:
        click.echo(render_markdown(), nl=False)
        return
    table = Table(show_lines=True)
    for column in ("code", "category", "severity", "why payers deny it", "fix"):
        table.add_column(column)
    for e in CATALOG.values():
        if category is None or e.category == category:
            table.add_row(e.code, e.category, e.severity, e.why, e.fix)
    Console().print(table)


@cli.command("settings")
@click.option("--markdown", is_flag=True, help="Print docs/configuration.md: every setting.")
def settings_cmd(markdown: bool) -> None:
    """Show the settings in effect (secrets hidden), or the reference of every setting."""
    from streams.settings import env_name, render_markdown

    if markdown:
        click.echo(render_markdown(), nl=False)
        return
    for name, value in _settings().model_dump().items():
        click.echo(f"{env_name(name)}={'' if value is None else value}")


@cli.group()
def refdata() -> None:
    """Reference data: show, check and stamp it, import the current CMS quarter."""


def _refdata_dir(into: str | None) -> Path:
    if into:
        return Path(into)
    return _settings().refdata_dir or Path("refdata")


@refdata.group("import")
def refdata_import() -> None:
    """Import an official CMS file into the override directory."""


def _report_import(kind: str, result: Any, into: Path) -> None:
    click.echo(
        f"imported {result.rows} {kind} row(s) for {result.codes} code(s) into {result.path}; "
        f"reference data version {result.version}"
    )
    for line in result.skipped[:20]:
        click.echo(f"  skipped {line}", err=True)
    if len(result.skipped) > 20:
        click.echo(f"  ... and {len(result.skipped) - 20} more skipped", err=True)
    click.echo(f"workers use it with J9262_REFDATA_DIR={into}")


def _import(kind: str, importer: str, file: Path, into: str | None, version: str | None) -> None:
    from streams.refdata import RefdataError, importers

    target = _refdata_dir(into)
    try:
        result = getattr(importers, importer)(file, target, version)
    except importers.RefdataImportError as exc:
        raise click.ClickException(str(exc)) from exc
    except RefdataError as exc:
        for line in exc.errors:
            click.echo(line, err=True)
        raise click.ClickException(f"{target} fails its checks; fix it before importing") from exc
    _report_import(kind, result, target)


_FILE = click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
_INTO = click.option("--into", default=None, help="Override directory (default J9262_REFDATA_DIR).")
_VERSION = click.option("--version", "version", default=None, help="Version to stamp on verdicts.")


@refdata_import.command("crosswalk")
@_FILE
@_INTO
@_VERSION
def import_crosswalk_cmd(file: Path, into: str | None, version: str | None) -> None:
    """Load a CMS ASP NDC-HCPCS crosswalk CSV (header row `_YYYY_CODE,...`)."""
    _import("NDC", "import_crosswalk", file, into, version)


@refdata_import.command("mue")
@_FILE
@_INTO
@_VERSION
def import_mue_cmd(file: Path, into: str | None, version: str | None) -> None:
    """Load a CMS MUE table CSV (code, MUE value, MAI, rationale)."""
    _import("MUE", "import_mue", file, into, version)


@refdata.command("check")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
def refdata_check(directory: Path | None) -> None:
    """Check a reference data folder (default J9262_REFDATA_DIR, else the bundled data) as a
    worker would at start-up: exit 0 with `ok: ...`, or 1 with one line per error."""
    override = directory or _settings().refdata_dir
    data = _reference_data(override)
    from streams import refdata as ref

    local = [n for n in ref.FILES if ref.resolve_file(n, override).parent != ref.BUNDLED]
    origin = f"{', '.join(local)} from {override}" if local else "all files bundled"
    click.echo(
        f"ok: version {data.version} ({origin}); {len(data.hcpcs)} HCPCS codes, "
        f"{len(data.ndcs)} NDCs, {len(data.diagnoses)} diagnoses, {len(data.modifiers)} "
        f"modifiers, {len(data.mue)} MUE rows, {len(data.drugs)} drugs, "
        f"{len(data.policies.plan_types)} plan types, {len(data.policies.payers)} payers"
    )


@refdata.command("stamp")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--version", "version", default=None, help="Version to stamp on verdicts.")
def refdata_stamp(directory: Path, version: str | None) -> None:
    """Write DIRECTORY's manifest.yaml: each reference file's sha256, after a reviewed edit.

    Keeps the version (unless --version), the sources and the comment of the manifest there.
    """
    from streams import refdata as ref

    if not directory.is_dir():
        raise click.ClickException(f"{directory}: reference data folder does not exist")
    stamped = ref.stamp(directory, version)
    click.echo(f"stamped {directory / 'manifest.yaml'}: version {stamped}")
    _reference_data(directory)
    click.echo(f"ok: {directory} passes its checks")


@refdata.command("show")
@click.option("--dir", "directory", default=None, help="Override directory to show.")
def refdata_show(directory: str | None) -> None:
    """Print the loaded reference data: version, files and their sources, key rows."""
    from streams import refdata as ref
    from streams.refdata.ndc import format_ndc11

    override = Path(directory) if directory else _settings().refdata_dir
    data = _reference_data(override)
    click.echo(f"reference data version {data.version}")
    for name in ("manifest.yaml", *ref.FILES):
        origin = "override" if ref.resolve_file(name, override).parent != ref.BUNDLED else "bundled"
        click.echo(f"  {name:<20} {origin:<8} {data.sources.get(name, '')}")
    click.echo(
        f"{len(data.hcpcs)} HCPCS codes, {len(data.ndcs)} NDCs, {len(data.diagnoses)} "
        f"diagnoses, {len(data.modifiers)} modifiers, {len(data.mue)} MUE rows"
    )
    for code in sorted(data.tracked_codes):
        ndcs = [p for p in data.ndcs.values() if p.hcpcs == code]
        mue = data.mue.get(code)
        click.echo(f"{code}: {data.hcpcs[code].descriptor}")
        for p in ndcs:
            click.echo(
                f"    NDC {format_ndc11(p.ndc11)}  {p.billing_units_per_package:g} units/pkg"
                f"  {p.package_description}  [{p.status}]"
            )
        if mue:
            click.echo(f"    MUE {mue.units:g} units/day, MAI {mue.mai} ({mue.basis})")
    policies = data.policies
    click.echo(
        f"payer policies: {len(policies.plan_types)} plan types, {len(policies.payers)} payers"
    )
    for plan in policies.plan_types:
        click.echo(f"    {plan:<19} {_policy_terms(policies.for_payer('', plan))}")
    for payer_id, terms in policies.payers.items():
        click.echo(
            f"    {payer_id:<19} overrides {', '.join(f'{k}={v}' for k, v in terms.items())}"
        )


def _policy_terms(policy: PayerPolicy) -> str:
    filing = (
        f"{policy.timely_filing_months} months"
        if policy.timely_filing_months
        else f"{policy.timely_filing_days} days"
        if policy.timely_filing_days
        else "not checked"
    )
    graded = ", ".join(f"{code} {level}" for code, level in policy.severities.items())
    return (
        f"prior auth {'required' if policy.prior_auth_required else 'not required'}; "
        f"step therapy {policy.step_therapy_min_tkis} TKIs; timely filing {filing}; "
        f"NDC {'checked' if policy.ndc_required else 'not checked'}"
        + (f"; {graded}" if graded else "")
    )


@cli.group()
def schemas() -> None:
    """The contract's JSON Schemas."""


@schemas.command("export")
@click.option("--dir", "directory", default="schemas", show_default=True, type=click.Path())
def schemas_export(directory: str) -> None:
    """Write the JSON Schema of each contract model to DIR."""
    from streams.contract.schemas import export

    try:
        written = export(Path(directory))
    except OSError as exc:
        raise click.ClickException(f"cannot write schemas to {directory!r}: {exc}") from None
    for path in written:
        click.echo(f"wrote {path}")


def main() -> None:
    """The `j9262` entry point: every misuse is one line on stderr and a non-zero exit.

    Click's own usage errors would print the usage and a hint over three lines;
    here they become one line that names the command's help.
    """
    from pydantic import ValidationError

    try:
        code = cli.main(prog_name="j9262", standalone_mode=False)
    except click.UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `j9262`: the help, as click does
            exc.show()
            sys.exit(exc.exit_code)
        hint = f" (see '{exc.ctx.command_path} -h')" if exc.ctx is not None else ""
        click.echo(f"Error: {exc.format_message()}{hint}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"Error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except ValidationError as exc:
        if exc.title != Settings.__name__:
            raise
        click.echo(f"Error: {settings_error(exc)}", err=True)
        sys.exit(SETTINGS_EXIT_CODE)
    if isinstance(code, int):  # --help, --version, ctx.exit(n)
        sys.exit(code)
