"""The package version, in the lowest layer so that every module can state it (define.xml,
Dataset-JSON, validation reports) without importing the package's top level."""
__version__ = "0.1.0"
