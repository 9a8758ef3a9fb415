"""cdisc-convert: raw clinical data to SDTM, ADaM, XPT, Dataset-JSON and define.xml."""
__version__ = "0.1.0"
