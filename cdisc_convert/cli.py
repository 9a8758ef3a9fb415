"""Command line: thin click commands over :mod:`cdisc_convert.api`.

Every command turns a :class:`~cdisc_convert.core.errors.CdiscError` into one readable
message on stderr and a documented exit code (:data:`EXIT_CODES`), never a traceback; an
unexpected exception is a one-line "internal error" (the traceback only with ``--debug``).
"""
from __future__ import annotations

import errno
import functools
import sys
import traceback
from pathlib import Path

import click

from cdisc_convert.core import interrupts
from cdisc_convert.core.errors import CdiscError, Terminated

from . import __version__

EXIT_OK, EXIT_FINDINGS, EXIT_UNUSABLE = 0, 1, 2
EXIT_INTERNAL = 70          # EX_SOFTWARE of sysexits.h
EXIT_INTERRUPTED = 130      # 128 + SIGINT, as shells report Ctrl-C
EXIT_TERMINATED = 143       # 128 + SIGTERM

EPILOG = ("Exit codes: 0 success; 1 rule errors or error findings; 2 unusable input, spec or "
          "output location; 130 interrupted (Ctrl-C), 143 terminated (SIGTERM); 70 internal "
          "error (a bug: please report it; --debug shows the traceback). --out never touches "
          "an input and replaces only an output this tool wrote (see README).")

FORCE_HELP = ("Replace the output even when it holds files cdisc-convert did not write "
              "(never allowed when it overlaps an input).")


def _api():
    """The API, imported when a command runs (inside its error handling: Ctrl-C while pandas
    loads is an interruption like any other), not when the CLI is loaded."""
    from . import api

    return api


def _debug() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and (ctx.find_root().params or {}).get("debug"))


def _friendly_errors(command):
    """Run a command: CdiscError and OS errors become a message and their exit code,
    Ctrl-C and SIGTERM their own codes (outputs being written are dropped on the way out),
    anything else a one-line internal error."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            with interrupts.stop_requests():
                return command(*args, **kwargs)
        except CdiscError as err:
            click.echo(f"Error: {err.format()}", err=True)
            sys.exit(err.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted: outputs being written were dropped; an existing "
                       "output keeps its previous content.", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except Terminated:
            click.echo("Terminated: outputs being written were dropped; an existing "
                       "output keeps its previous content.", err=True)
            sys.exit(EXIT_TERMINATED)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except OSError as exc:
            if _debug():
                traceback.print_exc()
            where = f"{exc.filename}: " if exc.filename else ""
            reason = exc.strerror or str(exc)
            hint = {errno.ENOSPC: " (the disk is full)", errno.EFBIG: " (file size limit)",
                    errno.EROFS: " (read-only file system)", errno.EDQUOT: " (disk quota)"}
            click.echo(f"Error: {where}{reason}{hint.get(exc.errno, '')}; nothing was replaced "
                       "[IO-ERROR]", err=True)
            sys.exit(EXIT_UNUSABLE)
        except Exception as exc:              # noqa: BLE001 - the last line of defence
            if _debug():
                traceback.print_exc()
            first = (str(exc).splitlines() or [""])[0][:200]
            click.echo(f"Internal error: {type(exc).__name__}: {first}. This is a bug in "
                       f"cdisc-convert {__version__}; please report it with the command you ran"
                       f"{'' if _debug() else ' (--debug shows the traceback)'}.", err=True)
            sys.exit(EXIT_INTERNAL)

    return wrapper


def _progress(message: str) -> None:
    click.echo(message, err=True)


FORMATS = ("xpt", "json", "ndjson", "csv")


def _formats(value: str) -> tuple[str, ...]:
    chosen = tuple(v.strip().lower() for v in value.split(",") if v.strip())
    unknown = [v for v in chosen if v not in FORMATS]
    if unknown or not chosen:
        raise click.BadParameter(f"choose from {', '.join(FORMATS)} (comma-separated), "
                                 f"not {', '.join(unknown) or 'nothing'}")
    return chosen


formats_option = click.option(
    "--formats", default="xpt,json,csv", show_default=True, callback=lambda c, p, v: _formats(v),
    help="Dataset file formats to write: xpt (SAS XPORT v5), json (Dataset-JSON 1.1), "
         "ndjson (Dataset-JSON as NDJSON), csv.")


force_option = click.option("--force", is_flag=True, help=FORCE_HELP)


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EPILOG)
@click.version_option(__version__, prog_name="cdisc-convert")
@click.option("--debug", is_flag=True,
              help="On an internal error, print the traceback (for a bug report).")
def main(debug):
    """Turn a clinical trial's raw data into a CDISC submission package.

    \b
    raw tables --(mappings/<study>/*.yaml)--> SDTM --> ADaM --> XPT v5,
    Dataset-JSON 1.1, define.xml 2.1 and a results report.

    Start with `cdisc-convert run`, which does everything for the bundled example
    study (a phase II oncology trial) and writes it under ./out.

    Example: cdisc-convert run --out out
    """


@main.command(epilog=EPILOG)
@click.argument("study", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--raw", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of raw tables. Default: the study's `raw:` setting.")
@click.option("--out", default="out", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Output folder.")
@formats_option
@click.option("--jobs", type=click.IntRange(1, 2), default=None,
              help="Processes to use: 2 writes the SDTM files while ADaM is derived and "
                   "the SDTM define.xml while the ADaM one is. Default: 2 on Linux with two "
                   "or more CPUs, else 1. The outputs are the same either way.")
@force_option
@_friendly_errors
def run(study, raw, out, formats, jobs, force):
    """Run the whole pipeline for STUDY (a folder of mapping YAML).

    Without STUDY, runs the bundled study mappings/sorafenib_dtic on the raw tables in
    fixtures/sorafenib_dtic/raw and writes out/sdtm, out/adam and out/report. OUT is
    replaced all-or-nothing: interrupted or failing, it keeps its previous content.

    Example: cdisc-convert run mappings/sorafenib_dtic --out out
    """
    result = _api().run_study(study, raw=raw, out=out, progress=_progress,
                           formats=formats, jobs=jobs, force=force)
    click.echo(f"Done: {result.get('summary', out)}")


@main.command(epilog=EPILOG)
@click.argument("study", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--raw", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder with the raw tables (CSV, SAS7BDAT/XPT or Excel). "
                   "Default: raw.folder in STUDY/study.yaml.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the SDTM domains into.")
@formats_option
@force_option
@_friendly_errors
def sdtm(study, raw, out, formats, force):
    """Map raw tables to SDTM domains following STUDY/*.yaml.

    Example: cdisc-convert sdtm mappings/sorafenib_dtic --raw fixtures/sorafenib_dtic/raw --out out/sdtm
    """
    result = _api().map_sdtm(study, raw=raw, out=out, progress=_progress, formats=formats,
                          force=force)
    for name, count in sorted(result["datasets"].items()):
        click.echo(f"  {name:<8} {count:>8} records")
    click.echo(f"{result['summary']}; {result['warnings']} warning(s), "
               f"{result['unmapped']} raw row(s) not mapped (see unmapped.csv)")


@main.command(epilog=EPILOG)
@click.argument("sdtm_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write ADSL, ADRS and ADTTE into.")
@click.option("--config", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Analysis rules (YAML); documented defaults apply when omitted.")
@formats_option
@force_option
@_friendly_errors
def adam(sdtm_dir, out, config, formats, force):
    """Derive ADaM datasets from a folder of SDTM datasets (XPT, CSV or Dataset-JSON).

    The domain of each file is its name without extension, case-insensitive (dm.xpt, AE.csv).

    Example: cdisc-convert adam out/sdtm --config mappings/sorafenib_dtic/adam.yaml --out out/adam
    """
    result = _api().build_adam(sdtm_dir, out=out, config=config, progress=_progress,
                            formats=formats, force=force)
    for name, count in sorted(result["datasets"].items()):
        click.echo(f"  {name:<8} {count:>8} records")
    click.echo(f"{result['summary']}; {result['reconciliation_differences']} visit(s) where the "
               "investigator's response differs from the computed one (reconciliation.csv)")


@main.command(epilog=EPILOG)
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--define", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="define.xml to check the data against (default: FOLDER/define.xml if present).")
@click.option("--format", "fmt", default="html", show_default=True,
              type=click.Choice(["html", "json", "xlsx", "csv"]), help="Report format.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Report file (default: FOLDER-validation.FORMAT beside the folder).")
@click.option("--encoding", help="Text encoding of XPT files (e.g. cp1252); default ASCII/UTF-8.")
@click.option("--study", type=click.Path(exists=True, path_type=Path),
              help="Mapping folder (or study.yaml) whose CT release, sponsor codelists, custom "
                   "domains and supplemental qualifiers the checks use.")
@click.option("--profile", type=click.Choice(["fda-trc"]),
              help="fda-trc: FOLDER is a submission package (`cdisc-convert package`); check "
                   "the FDA technical rejection criteria (ts.xpt with SSTDTC, dm.xpt, "
                   "adsl.xpt, define.xml, one STUDYID, 5 GB) instead of the standards.")
@force_option
@_friendly_errors
def validate(folder, define, fmt, out, encoding, study, force, profile):
    """Check a folder of SDTM or ADaM datasets (XPT, Dataset-JSON, CSV) and report findings.

    Each finding has a rule id, severity (error / warning / notice), dataset, variable,
    record, value, a plain-English message and how to fix it; the rules are listed in
    docs/validation-rules.md. Exit code 0 when there are no error-severity findings, 1 when
    there are, 2 when some input cannot be read.

    Example: cdisc-convert validate out/sdtm --format html

    Example (a study's own codelists and domains): cdisc-convert validate out/sdtm
    --study mappings/sorafenib_dtic

    Example (a submission package against the FDA technical rejection criteria):
    cdisc-convert validate submission --profile fda-trc
    """
    result = _api().validate_folder(folder, define=define, fmt=fmt, out=out, encoding=encoding,
                                 study=study, force=force, profile=profile)
    click.echo(result["summary"])
    click.echo(f"Report: {result['report']}")
    sys.exit(result["exit_code"])


@main.command(epilog=EPILOG)
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Output file (default: FOLDER/define.xml).")
@click.option("--study", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Mapping folder of the study (origins, comments and ADaM methods).")
@click.option("--encoding", help="Text encoding of XPT files (e.g. cp1252); default ASCII/UTF-8.")
@click.option("--spec", "--metadata", "spec",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Spec workbook (P21 layout, .xlsx) or an existing define.xml (2.0/2.1) "
                   "whose metadata the define states; what it leaves out comes from the data.")
@force_option
@_friendly_errors
def define(folder, out, study, encoding, spec, force):
    """Write define.xml 2.1 and define.html for a folder of datasets, and check it.

    The define is validated against the Define-XML 2.1 schema (shipped with odmlib) and
    cross-checked with the data (datasets, variables, lengths, types, codelist values).

    With --spec (or --metadata) a spec workbook or a sponsor's define.xml is the source of
    the metadata it states (labels, lengths, data types, origins, methods, comments,
    codelists, value level, keys); empty cells are filled from the data. What cannot be
    applied (a variable the data lack, an unknown origin ...) is listed and exits with 1.

    Example: cdisc-convert define out/sdtm --study mappings/sorafenib_dtic

    \b
    Example (define.xml from the spec workbook):
      cdisc-convert define out/sdtm --spec sdtm-spec.xlsx
    Example (a sponsor's approved define.xml drives a re-run):
      cdisc-convert define out/adam --metadata approved/adam-define.xml

    Example (a read-only folder with Windows-1252 text): cdisc-convert define
    ../shared/reference/cdiscpilot01/sdtm --encoding cp1252 --out /tmp/pilot-define.xml
    """
    result = _api().write_define(folder, out=out, study=study, encoding=encoding, force=force,
                                 spec=spec)
    for f in result["spec_findings"]:
        click.echo(f"  spec: {_where(f)}: {f['message']}", err=True)
    for problem in result["problems"]:
        click.echo(f"  {problem}", err=True)
    status = ('valid' if not result['problems']
              else str(len(result['problems'])) + ' problem(s)')
    if spec is not None:
        status += f", {len(result['spec_findings'])} spec finding(s)"
    click.echo(f"{result['summary']}: {status}")
    if result["problems"] or result["spec_findings"]:
        sys.exit(1)


def _where(finding: dict) -> str:
    """Where a spec finding is: sheet, row, column."""
    return ", ".join(str(x) for x in (finding["sheet"], finding["row"] and
                                      f"row {finding['row']}", finding["column"]) if x)


@main.command(epilog=EPILOG)
@click.argument("adam_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for results.json, results.html and figures (default: ADAM_DIR/../report).")
@click.option("--study", type=click.Path(exists=True, path_type=Path),
              help="Mapping folder of the study (its report.yaml says what is reported), or "
                   "the report YAML itself. Without it: population, sex and age only.")
@force_option
@_friendly_errors
def report(adam_dir, out, study, force):
    """Compute the trial's results table and figures from ADSL, ADRS and ADTTE.

    Example: cdisc-convert report out/adam --study mappings/sorafenib_dtic
    """
    result = _api().write_report(adam_dir, out=out, study=study, force=force)
    click.echo(result["summary"])


@main.command(epilog=EPILOG)
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Package folder (default: 'submission' beside RUN_DIR).")
@click.option("--study", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Mapping folder of the study: its YAML specs become the programs in "
                   "analysis/adam/programs.")
@click.option("--acrf", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Annotated CRF (PDF), copied as tabulations/sdtm/acrf.pdf.")
@force_option
@_friendly_errors
def package(run_dir, out, study, acrf, force):
    """Lay out the output of `run` (RUN_DIR with sdtm/ and adam/) as eCTD module 5.

    \b
    m5/datasets/<study>/tabulations/sdtm/           *.xpt, define.xml, define2-1.xsl
    m5/datasets/<study>/analysis/adam/datasets/     *.xpt, define.xml, define2-1.xsl
    m5/datasets/<study>/analysis/adam/programs/     the study's YAML specs (.txt)
    reviewers-guides/      csdrg and adrg drafts (DOCX, HTML) to edit into PDF

    <study> is the study identifier in lower case. See docs/submission.md for the FDA
    Study Data Technical Conformance Guide sections followed.

    Example: cdisc-convert package out --study mappings/sorafenib_dtic --out submission
    """
    result = _api().build_package(run_dir, out=out, study=study, acrf=acrf, force=force)
    click.echo(f"Done: {result['summary']}")


@main.group(epilog=EPILOG)
def spec():
    """Spec workbooks in the Pinnacle 21 layout (Study, Datasets, Variables, ValueLevel,
    WhereClauses, Codelists, Dictionaries, Methods, Comments, Documents).

    Example: cdisc-convert spec export out/sdtm/define.xml --out sdtm-spec.xlsx

    The other way (define.xml from a workbook): cdisc-convert define out/sdtm --spec
    sdtm-spec.xlsx
    """


@spec.command("export", epilog=EPILOG)
@click.argument("define", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The workbook to write (.xlsx).")
@force_option
@_friendly_errors
def spec_export(define, out, force):
    """Write the metadata of DEFINE (define.xml 2.0 or 2.1) as a P21-layout spec workbook.

    Example: cdisc-convert spec export out/adam/define.xml --out adam-spec.xlsx
    """
    click.echo(_api().export_spec(define, out=out, force=force)["summary"])


@spec.command("check", epilog=EPILOG)
@click.argument("workbook", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_friendly_errors
def spec_check(workbook):
    """Read a P21-layout spec workbook (any tool's) and list what cannot be used.

    Tolerates sheets and columns in any order or case, extra columns, title rows, blank
    rows, merged cells and Excel number/date cells; missing sheets or columns, rows without
    their key and references to missing codelists, methods, comments or where clauses are
    findings (exit code 1).

    Example: cdisc-convert spec check sdtm-spec.xlsx
    """
    result = _api().check_spec(workbook)
    for f in result["findings"]:
        click.echo(f"  {_where(f)}: {f['message']}")
    click.echo(result["summary"])
    sys.exit(result["exit_code"])
