"""The submission package: a run's output laid out as eCTD module 5, and what goes with it.

:mod:`.package` copies the XPT files, define.xml files and stylesheets of a run output
(``out/sdtm``, ``out/adam``) and the study's specs into the folder tree the FDA Study Data
Technical Conformance Guide and the eCTD specification expect
(``m5/datasets/<study>/tabulations/sdtm``, ``.../analysis/adam/datasets``,
``.../analysis/adam/programs``); ``docs/submission.md`` cites the sections.
"""
