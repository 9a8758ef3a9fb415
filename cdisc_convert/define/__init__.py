"""define.xml 2.1 for a folder of SDTM or ADaM datasets: build, write, validate.

The public functions are in :mod:`cdisc_convert.define.api`. The package by concern:
``model`` (what is collected before XML is written, OIDs), ``profile`` (DataType, Length,
SignificantDigits, DisplayFormat of a column), ``ct`` (codelists), ``origins`` (SDTM origins,
methods and comments from the mapping spec), ``vlm`` (value-level metadata), ``builder`` (the
builder and the XML), ``api`` and ``html`` (the HTML view). ADaM method texts come from
:mod:`cdisc_convert.adam.methods`, the checks from
:mod:`cdisc_convert.conformance.define_checks`.

:func:`build_define` describes datasets (``{NAME: DataFrame}`` as read by
:func:`cdisc_convert.io.read_folder.read_folder`) in Define-XML 2.1 (ODM 1.3.2): standards,
datasets (ItemGroupDef), variables (ItemDef), value-level metadata (ValueListDef and
WhereClauseDef), controlled terminology (CodeList), derivations (MethodDef) and comments
(def:CommentDef). :func:`write_define` does that for a folder and writes ``define.xml`` and
its HTML view ``define.html`` next to it, all-or-nothing. :func:`validate_define` checks a
define.xml against the Define-XML 2.1 schema (shipped by the ``odmlib`` package) and against
the data it describes.

Where the metadata comes from
-----------------------------
* **Standards**: SDTMIG 3.4 / ADaMIG 1.3 from ``specs/`` (labels, Req → Mandatory, roles,
  natural keys → KeySequence, CDISC codelists of each variable); the CT releases are those
  loaded (``specs/ct/releases.csv``).
* **Data**: DataType, Length (character: the longest value in bytes, trailing blanks
  dropped, at least 1), SignificantDigits, display formats, the codelist values (only the
  values present), value-level subsets.
* **Origins** (SDTM): the study's mapping spec (``mappings/<study>/*.yaml``): a rule reading
  raw data (``from``/``date``/``number``/``unit``) is Collected (Source Investigator), a
  ``value`` without condition is Assigned (Sponsor), conditional values, ``format``,
  ``age`` and everything under ``derive:`` (--SEQ, --DY, EPOCH, VISIT/VISITNUM, reference
  dates, baseline flags, post rules) are Derived (Sponsor) with a MethodDef that states the
  rule; literal ``rows:`` (TS) are Protocol values. A variable produced differently by
  different record blocks gets one ``def:Origin`` per kind (Define-XML 2.1 allows several).
  Without a mapping spec, well-known names are used (--SEQ, --DY, EPOCH ... Derived,
  STUDYID/DOMAIN Assigned, the rest Collected).
* **Origins and methods** (ADaM): the ADaM config (``adam.yaml``) and the derivation
  modules' rules (:mod:`cdisc_convert.adam.adsl`, ``adrs``, ``adtte``, ``tumor_response``),
  stated with the configured values (e.g. the 42-day SD window). Variables copied from DM
  (ADSL) or ADSL (other datasets) are Predecessor (``DM.AGE``).

Conventions
-----------
* OIDs: ``IG.<DS>``, ``IT.<DS>.<VAR>`` (as our Dataset-JSON itemOIDs),
  ``IT.<DS>.<VAR>.<value>`` for value-level items, ``VL.<DS>.<VAR>``,
  ``WC.<DS>.<VAR>.EQ.<value>``, ``CL.<codelist>``, ``MT.<DS>.<VAR>``, ``COM.<DS>[.<VAR>]``,
  ``LF.<DS>``. Characters other than letters, digits, ``.``, ``_`` and ``-`` become ``_``.
* Lengths of numbers follow ODM 1.3.2: integer Length = digits of the largest magnitude;
  float Length = integer digits + SignificantDigits, SignificantDigits = decimals needed to
  state every value to 1e-9 relative precision. ADaM numeric dates (``*DT``, ``*DTM``) are
  ``integer`` with ``def:DisplayFormat`` DATE9. / DATETIME20. SDTM ``--DTC`` are ``date`` or
  ``datetime`` (any value with a time part), ``--DUR`` ``durationDatetime``; they carry no
  Length (as the CDISC examples).
* Codelists: each CDISC codelist used gets the values present in the data (per distinct
  value set: the first use is ``CL.<SHORT>``, other subsets ``CL.<SHORT>.<DS>.<VAR>[...]``),
  NCI codes as ``Alias Context="nci:ExtCodeID"``, ``CodeListItem`` with ``Decode`` (NCI
  preferred term) unless every decode equals its value, ``def:ExtendedValue="Yes"`` for
  values not in an extensible codelist. A variable with value-level metadata gets its
  codelist at value level unless one codelist holds all its values.
* Output is deterministic: fixed orders, no random OIDs; ``CreationDateTime`` from
  ``SOURCE_DATE_EPOCH`` (UTC) when set, else now.
"""
