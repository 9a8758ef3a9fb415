"""A tiny hand-made study for the tests of the mapping language: raw tables in ``raw/``,
``spec/study.yaml`` naming them and one YAML file per domain, and the DM spec most of
these studies start from (:func:`dm_yaml`)."""
from __future__ import annotations

import textwrap
from pathlib import Path


def dm_yaml(*, sex: bool = True, rfstdtc: str = "{date: START}", extra: str = "") -> str:
    """DM of study S1 from the raw table ``subj`` (columns PT, SEX, START): one record per
    subject, USUBJID ``S1-<PT>``. ``sex=False`` leaves SEX out, ``rfstdtc`` is the rule of
    RFSTDTC, ``extra`` follows the variables (e.g. a ``derive:`` block)."""
    return ("""
domain: DM
records:
  - source: subj
    variables:
      STUDYID: S1
      DOMAIN: DM
      USUBJID: {format: "S1-{PT}"}
      SUBJID: {from: PT}
      SITEID: "01"
""" + ("      SEX: {from: SEX, codelist: SEX}\n" if sex else "") + f"""      COUNTRY: USA
      RFSTDTC: {rfstdtc}
""" + extra)


DM_YAML = dm_yaml()


def write_study(root: Path, files: dict[str, bytes | str], sources: dict[str, str],
                domains: dict[str, str], study_extra: str = "") -> tuple[Path, Path]:
    """``root/raw`` with ``files`` (name -> content, written as given), ``root/spec`` with a
    study.yaml whose ``raw.tables`` has ``sources`` (table -> its YAML entry) followed by
    ``study_extra``, and one ``<name>.yaml`` per domain (dedented). Returns (spec, raw)."""
    raw, spec = root / "raw", root / "spec"
    raw.mkdir(parents=True, exist_ok=True)
    spec.mkdir(exist_ok=True)
    for name, content in files.items():
        (raw / name).write_bytes(content.encode("utf-8") if isinstance(content, str)
                                 else content)
    table_lines = "".join(f"    {name}: {entry}\n" for name, entry in sources.items())
    (spec / "study.yaml").write_text(f"study: S1\nraw:\n  tables:\n{table_lines}{study_extra}")
    for name, text in domains.items():
        (spec / f"{name}.yaml").write_text(textwrap.dedent(text))
    return spec, raw


def make_study(root: Path, tables: dict[str, str], domains: dict[str, str],
               study_extra: str = "") -> tuple[Path, Path]:
    """A study of CSV tables (name -> indented CSV text) and domain specs; (spec, raw)."""
    return write_study(root, {f"{n}.csv": textwrap.dedent(t).lstrip() for n, t in tables.items()},
                       {n: f"{{file: {n}.csv}}" for n in tables}, domains, study_extra)
