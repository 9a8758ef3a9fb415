"""Raw tables from an ODM 1.3 ClinicalData export and from a SQL database (SQLite)."""
from __future__ import annotations

import sqlite3

import pytest

from cdisc_convert.core.errors import InputError, SpecError
from cdisc_convert.io.odm import KEY_COLUMNS
from cdisc_convert.io.raw import read_source
from cdisc_convert.sdtm.engine import map_study
from tiny_study import dm_yaml, write_study

# Two subjects, two visits; IG.VS repeats within a form (two readings at screening for
# subject 1001); an AuditRecord (with a value-like text) and a vendor extension element
# must be ignored; one item is empty with IsNull, one is absent.
ODM = """<?xml version="1.0" encoding="UTF-8"?>
<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" xmlns:oc="http://www.openclinica.org/ns/odm_ext_v130/v3.1"
     FileType="Snapshot" FileOID="F.1" ODMVersion="1.3.2" CreationDateTime="2024-01-01T00:00:00">
  <Study OID="S.1">
    <GlobalVariables><StudyName>S1</StudyName><StudyDescription>x</StudyDescription>
      <ProtocolName>S1</ProtocolName></GlobalVariables>
    <MetaDataVersion OID="MDV.1" Name="v1">
      <ItemGroupDef OID="IG.VS" Name="VITALS" Repeating="Yes">
        <ItemRef ItemOID="I.VSDAT" Mandatory="Yes"/>
        <ItemRef ItemOID="I.SYSBP" Mandatory="No"/>
        <ItemRef ItemOID="I.PULSE" Mandatory="No"/>
      </ItemGroupDef>
      <ItemGroupDef OID="IG.DM" Name="DEMOG" Repeating="No">
        <ItemRef ItemOID="I.SEX" Mandatory="Yes"/>
      </ItemGroupDef>
      <ItemDef OID="I.VSDAT" Name="VSDAT" DataType="date"/>
      <ItemDef OID="I.SYSBP" Name="SYSBP" DataType="integer"/>
      <ItemDef OID="I.PULSE" Name="PULSE" DataType="integer"/>
      <ItemDef OID="I.SEX" Name="SEX" DataType="text"/>
    </MetaDataVersion>
  </Study>
  <ClinicalData StudyOID="S.1" MetaDataVersionOID="MDV.1">
    <SubjectData SubjectKey="1001">
      <StudyEventData StudyEventOID="SE.SCR">
        <FormData FormOID="F.DM">
          <ItemGroupData ItemGroupOID="IG.DM"><ItemData ItemOID="I.SEX" Value="F"/></ItemGroupData>
        </FormData>
        <FormData FormOID="F.VS" FormRepeatKey="1">
          <ItemGroupData ItemGroupOID="IG.VS" ItemGroupRepeatKey="1">
            <ItemData ItemOID="I.VSDAT" Value="2024-01-05"/>
            <ItemData ItemOID="I.SYSBP" Value="120">
              <AuditRecord><UserRef UserOID="U.1"/><LocationRef LocationOID="L.1"/>
                <DateTimeStamp>2024-01-06T10:00:00</DateTimeStamp>
                <ReasonForChange>was 999</ReasonForChange></AuditRecord>
            </ItemData>
            <ItemData ItemOID="I.PULSE" Value=" 072"/>
            <oc:Extra Value="ignored"/>
          </ItemGroupData>
          <ItemGroupData ItemGroupOID="IG.VS" ItemGroupRepeatKey="2">
            <ItemData ItemOID="I.VSDAT" Value="2024-01-05"/>
            <ItemData ItemOID="I.SYSBP" Value="118"/>
            <Annotation SeqNum="1"><Comment>repeat reading</Comment></Annotation>
          </ItemGroupData>
        </FormData>
      </StudyEventData>
      <StudyEventData StudyEventOID="SE.W2" StudyEventRepeatKey="1">
        <FormData FormOID="F.VS">
          <ItemGroupData ItemGroupOID="IG.VS" ItemGroupRepeatKey="1">
            <ItemData ItemOID="I.VSDAT" Value="2024-01-19"/>
            <ItemData ItemOID="I.SYSBP" Value="" IsNull="Yes"/>
            <ItemData ItemOID="I.PULSE" Value="80"/>
          </ItemGroupData>
        </FormData>
      </StudyEventData>
    </SubjectData>
    <SubjectData SubjectKey="1002">
      <StudyEventData StudyEventOID="SE.SCR">
        <FormData FormOID="F.VS">
          <ItemGroupData ItemGroupOID="IG.VS" ItemGroupRepeatKey="1">
            <ItemData ItemOID="I.VSDAT" Value="2024-02-01"/>
            <ItemDataInteger ItemOID="I.SYSBP">131</ItemDataInteger>
          </ItemGroupData>
        </FormData>
        <Signature><UserRef UserOID="U.2"/><LocationRef LocationOID="L.1"/>
          <SignatureRef SignatureOID="SIG.1"/><DateTimeStamp>2024-02-02T00:00:00</DateTimeStamp></Signature>
      </StudyEventData>
      <StudyEventData StudyEventOID="SE.W2" StudyEventRepeatKey="1">
        <FormData FormOID="F.VS">
          <ItemGroupData ItemGroupOID="IG.VS" ItemGroupRepeatKey="1">
            <ItemData ItemOID="I.VSDAT" Value="2024-02-15"/>
            <ItemData ItemOID="I.SYSBP" Value="125"/>
            <ItemData ItemOID="I.PULSE" Value="66"/>
          </ItemGroupData>
        </FormData>
      </StudyEventData>
    </SubjectData>
  </ClinicalData>
</ODM>
"""

VS_ROWS = [  # SubjectKey, StudyEventOID, StudyEventRepeatKey, FormOID, FormRepeatKey, IGRK, items
    ["1001", "SE.SCR", "", "F.VS", "1", "1", "2024-01-05", "120", " 072"],
    ["1001", "SE.SCR", "", "F.VS", "1", "2", "2024-01-05", "118", ""],
    ["1001", "SE.W2", "1", "F.VS", "", "1", "2024-01-19", "", "80"],
    ["1002", "SE.SCR", "", "F.VS", "", "1", "2024-02-01", "131", ""],
    ["1002", "SE.W2", "1", "F.VS", "", "1", "2024-02-15", "125", "66"],
]


def _odm(tmp_path, text=ODM, name="edc.xml"):
    (tmp_path / name).write_text(text)
    return tmp_path


def test_odm_item_group_is_one_text_row_per_item_group_data(tmp_path):
    frame = read_source(_odm(tmp_path), file="edc.xml", item_group="IG.VS", name="edc.xml#IG.VS")
    assert list(frame.columns) == KEY_COLUMNS + ["I.VSDAT", "I.SYSBP", "I.PULSE",
                                                 "__table", "__row"]
    assert frame.drop(columns=["__table", "__row"]).values.tolist() == VS_ROWS
    assert frame["__row"].tolist() == [1, 2, 3, 4, 5]          # position of the ItemGroupData
    assert set(frame["__table"]) == {"edc.xml#IG.VS"}


def test_odm_item_group_by_its_name_and_other_groups(tmp_path):
    by_name = read_source(_odm(tmp_path), file="edc.xml", item_group="VITALS")
    assert by_name.drop(columns=["__table", "__row"]).values.tolist() == VS_ROWS
    dm = read_source(tmp_path, file="edc.xml", item_group="IG.DM")
    assert dm[["SubjectKey", "FormOID", "I.SEX"]].values.tolist() == [["1001", "F.DM", "F"]]


def test_odm_without_metadata_takes_item_columns_from_the_data(tmp_path):
    start, end = ODM.index("  <Study "), ODM.index("</Study>") + len("</Study>\n")
    frame = read_source(_odm(tmp_path, ODM[:start] + ODM[end:]), file="edc.xml",
                        item_group="IG.VS")
    assert list(frame.columns[6:9]) == ["I.VSDAT", "I.SYSBP", "I.PULSE"]
    assert frame.drop(columns=["__table", "__row"]).values.tolist() == VS_ROWS


@pytest.mark.parametrize("text, item_group, rule, words", [
    ("<root><a/></root>", "IG.VS", "RAW-ODM", "not a CDISC ODM"),
    ("<ODM xmlns='http://www.cdisc.org/ns/odm/v1.3'><Study OID='S'/></ODM>", "IG.VS",
     "RAW-ODM", "no ClinicalData"),
    ("<ODM><ClinicalData>", "IG.VS", "RAW-ODM", "not well-formed"),
    ('<?xml version="1.0"?>\n<!DOCTYPE ODM [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
     '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3"><ClinicalData><SubjectData SubjectKey="1">'
     '<StudyEventData StudyEventOID="E"><FormData FormOID="F"><ItemGroupData ItemGroupOID="IG">'
     '<ItemData ItemOID="I" Value="&xxe;"/></ItemGroupData></FormData></StudyEventData>'
     '</SubjectData></ClinicalData></ODM>', "IG", "RAW-ODM-DTD", "DOCTYPE"),
    (ODM, "IG.LB", "RAW-ODM-ITEMGROUP", "IG.VS (VITALS)"),
    (ODM, None, "RAW-ODM-ITEMGROUP", "item_group"),
])
def test_bad_odm_inputs_are_clear_errors(tmp_path, text, item_group, rule, words):
    with pytest.raises(InputError) as err:
        read_source(_odm(tmp_path, text), file="edc.xml", item_group=item_group)
    assert err.value.rule == rule
    assert words in str(err.value) and "edc.xml" in str(err.value)
    assert "root:" not in str(err.value)                     # /etc/passwd never read


def _sqlite(path):
    con = sqlite3.connect(path)
    con.execute("create table vs (PT text, VISIT text, VSDAT text, SYSBP integer, "
                "TEMP real, NOTE text)")
    con.executemany("insert into vs values (?,?,?,?,?,?)", [
        ("001", "SCREENING", "2024-01-05", 120, 36.6, None),
        ("001", "WEEK 2", "2024-01-19", None, 37.0, "late"),
        ("002", "SCREENING", "2024-02-01", 131, None, ""),
    ])
    con.commit()
    con.close()


def test_sql_table_and_query_read_as_text(tmp_path):
    _sqlite(tmp_path / "raw.sqlite")
    frame = read_source(tmp_path, sql="sqlite:///raw.sqlite", table="vs")
    assert frame.drop(columns=["__table", "__row"]).values.tolist() == [
        ["001", "SCREENING", "2024-01-05", "120", "36.6", ""],
        ["001", "WEEK 2", "2024-01-19", "", "37", "late"],
        ["002", "SCREENING", "2024-02-01", "131", "", ""],
    ]
    assert frame["__row"].tolist() == [1, 2, 3] and set(frame["__table"]) == {"vs"}
    query = read_source(tmp_path, sql=f"sqlite:///{tmp_path / 'raw.sqlite'}",
                        query="select PT, SYSBP from vs where SYSBP > 125", name="q")
    assert query[["PT", "SYSBP", "__row"]].values.tolist() == [["002", "131", 1]]


@pytest.mark.parametrize("kwargs, rule, words", [
    ({"sql": "not a url", "table": "vs"}, "RAW-SQL", "not a database URL"),
    ({"sql": "nosuchdb://x/y", "table": "vs"}, "RAW-SQL", "cannot use the database URL"),
    ({"sql": "sqlite:///missing.sqlite", "table": "vs"}, "RAW-MISSING", "not found"),
    ({"sql": "sqlite:///raw.sqlite", "table": "lb"}, "RAW-SQL", "no table 'lb'"),
    ({"sql": "sqlite:///raw.sqlite", "query": "select nope from vs"}, "RAW-SQL", "nope"),
    ({"sql": "sqlite:///raw.sqlite", "query": "select PT, PT from vs"}, "RAW-HEADER", "twice"),
    ({"sql": "sqlite:///raw.sqlite", "query": "delete from vs"}, "RAW-SQL", "no rows"),
])
def test_bad_sql_inputs_are_clear_errors(tmp_path, kwargs, rule, words):
    _sqlite(tmp_path / "raw.sqlite")
    with pytest.raises(InputError) as err:
        read_source(tmp_path, **kwargs)
    assert err.value.rule == rule and words in str(err.value)
    con = sqlite3.connect(tmp_path / "raw.sqlite")
    assert con.execute("select count(*) from vs").fetchone() == (3,)   # nothing committed
    con.close()


def test_sql_password_is_not_shown(tmp_path):
    with pytest.raises(InputError) as err:
        read_source(tmp_path, sql="nosuchdb://user:s3cret@host/db", table="vs")
    assert "s3cret" not in str(err.value)


DM_YAML = dm_yaml(sex=False)
SUBJ = "PT,START\n001,2024-01-05\n002,2024-02-01\n"


def _vs_yaml(subject: str, visit: str, date: str, result: str) -> str:
    return f"""
domain: VS
records:
  - source: vs
    where: "`{result}` != ''"
    variables:
      STUDYID: S1
      DOMAIN: VS
      USUBJID: {{format: "S1-{{{subject}}}"}}
      VSTESTCD: SYSBP
      VSTEST: Systolic Blood Pressure
      VSORRES: {{from: {result}}}
      VSORRESU: mmHg
      VSSTRESC: {{from: {result}}}
      VSSTRESN: {{number: {result}}}
      VSSTRESU: mmHg
      VISIT: {{from: {visit}}}
      VSDTC: {{date: {date}}}
derive:
  seq: {{by: [USUBJID], order: [VSDTC, VSTESTCD]}}
"""


def _study(tmp_path, vs_table: str, vs_yaml: str):
    return write_study(tmp_path, {"subj.csv": SUBJ},
                       {"subj": "{file: subj.csv, key: [PT]}", "vs": vs_table},
                       {"dm": DM_YAML, "vs": vs_yaml})


def test_vs_mapped_end_to_end_from_odm(tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "edc.xml").write_text(ODM.replace('"1001"', '"001"')
                                              .replace('"1002"', '"002"'))
    spec, raw = _study(tmp_path, "{file: edc.xml, item_group: VITALS}",
                       _vs_yaml("SubjectKey", "StudyEventOID", "I.VSDAT", "I.SYSBP"))
    result = map_study(spec, raw)
    vs = result.domains["VS"]
    assert vs[["USUBJID", "VSSEQ", "VISIT", "VSDTC", "VSORRES", "VSSTRESN"]].values.tolist() == [
        ["S1-001", 1, "SE.SCR", "2024-01-05", "120", 120.0],
        ["S1-001", 2, "SE.SCR", "2024-01-05", "118", 118.0],
        ["S1-002", 1, "SE.SCR", "2024-02-01", "131", 131.0],
        ["S1-002", 2, "SE.W2", "2024-02-15", "125", 125.0],
    ]
    assert vs["__table"].unique().tolist() == ["edc.xml#VITALS"]
    assert vs["__row"].tolist() == [1, 2, 4, 5]
    unmapped = result.unmapped
    assert unmapped.query("table == 'edc.xml#VITALS'")["row"].tolist() == [3]  # null SYSBP


def test_vs_mapped_end_to_end_from_sqlite(tmp_path):
    (tmp_path / "raw").mkdir()
    _sqlite(tmp_path / "raw" / "raw.sqlite")
    spec, raw = _study(tmp_path, '{sql: "sqlite:///raw.sqlite", query: "select * from vs '
                                 'order by PT, VSDAT"}',
                       _vs_yaml("PT", "VISIT", "VSDAT", "SYSBP"))
    vs = map_study(spec, raw).domains["VS"]
    assert vs[["USUBJID", "VSSEQ", "VISIT", "VSDTC", "VSORRES", "VSSTRESN"]].values.tolist() == [
        ["S1-001", 1, "SCREENING", "2024-01-05", "120", 120.0],
        ["S1-002", 1, "SCREENING", "2024-02-01", "131", 131.0],
    ]
    assert vs["__row"].tolist() == [1, 3]


def test_sql_table_declaration_needs_query_or_table(tmp_path):
    spec, raw = _study(tmp_path, '{sql: "sqlite:///raw.sqlite"}',
                       _vs_yaml("PT", "VISIT", "VSDAT", "SYSBP"))
    with pytest.raises(SpecError) as err:
        map_study(spec, raw)
    assert "SPEC-TABLE" in str(err.value) and "exactly one of `query:` or `table:`" in str(err.value)


# A European EDC/Excel export: ';' between fields, a decimal comma inside a value and a
# quoted field holding ';' (a comment), dates day-first with dots.
SEMICOLON = ('PT;VISIT;VSDAT;SYSBP;TEMP;TEMPU;NOTE\n'
             '001;Screening;05.01.2024;120;36,6;C;"arm; left"\n'
             '002;Screening;01.02.2024;131;37,1;C;\n'
             '003;Screening;01.03.2024;118;1.234;C;\n')


def test_a_semicolon_separated_export_is_read_with_its_declared_delimiter(tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "vitals.csv").write_text(SEMICOLON)
    frame = read_source(tmp_path / "raw", file="vitals.csv", delimiter=";")
    assert frame[["PT", "TEMP", "NOTE"]].values.tolist() == [
        ["001", "36,6", "arm; left"], ["002", "37,1", ""], ["003", "1.234", ""]]
    # the temperatures have a decimal comma: `decimal: ","` reads them (a point is then no
    # decimal separator: 1.234 is an error, not 1.234 degrees nor 1234)
    vs_yaml = _vs_yaml("PT", "VISIT", "VSDAT", "SYSBP").replace(
        "      VSTESTCD: SYSBP\n      VSTEST: Systolic Blood Pressure\n"
        "      VSORRES: {from: SYSBP}\n      VSORRESU: mmHg\n"
        "      VSSTRESC: {from: SYSBP}\n      VSSTRESN: {number: SYSBP}\n"
        "      VSSTRESU: mmHg\n",
        "      VSTESTCD: TEMP\n      VSTEST: Temperature\n"
        "      VSORRES: {from: TEMP}\n      VSORRESU: C\n"
        "      VSSTRESN: {unit: {value: TEMP, unit: TEMPU}, to: F, decimal: \",\", round: 2}\n"
        "      VSSTRESC: {from: VSSTRESN}\n      VSSTRESU: F\n")
    assert "decimal" in vs_yaml
    spec, raw = _study(tmp_path, '{file: vitals.csv, delimiter: ";"}', vs_yaml)
    result = map_study(spec, raw)
    vs = result.domains["VS"]
    # 36.6 C = 97.88 F, 37.1 C = 98.78 F; the original result stays as collected
    assert vs[["USUBJID", "VSDTC", "VSORRES", "VSSTRESC", "VSSTRESN"]].values.tolist()[:2] == [
        ["S1-001", "2024-01-05", "36,6", "97.88", 97.88],
        ["S1-002", "2024-02-01", "37,1", "98.78", 98.78]]
    bad = result.findings.query("rule == 'MAP-NUMBER'")
    assert bad["value"].tolist() == ["1.234"] and bad["row"].tolist() == [3]


def test_an_undeclared_separator_is_an_error_saying_what_to_declare(tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "vitals.csv").write_text(SEMICOLON)
    # the decimal commas make the rows ragged under ',': the hint still comes first
    with pytest.raises(InputError, match="declare `delimiter: ';'`") as err:
        read_source(tmp_path / "raw", file="vitals.csv")
    assert err.value.rule == "RAW-READ"
    (tmp_path / "raw" / "plain.csv").write_text("PT;VISIT\n001;Screening\n")
    with pytest.raises(InputError, match="looks ';'-separated"):
        read_source(tmp_path / "raw", file="plain.csv")


def test_a_delimiter_on_a_file_that_is_not_delimited_is_a_spec_error(tmp_path):
    spec, raw = _study(tmp_path, '{file: vitals.xlsx, delimiter: ";"}',
                       _vs_yaml("PT", "VISIT", "VSDAT", "SYSBP"))
    with pytest.raises(SpecError, match="`delimiter:` is for a .csv, .txt or .tsv file"):
        map_study(spec, raw)
