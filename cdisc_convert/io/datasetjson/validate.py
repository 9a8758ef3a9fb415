"""Dataset-JSON 1.1: validate (see the package docstring)."""
from __future__ import annotations

import json
import os
from pathlib import Path


from cdisc_convert.core.errors import InputError

from .reader import load_dataset_json, structure_problems


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------

def _load_schema(schema_path) -> dict:
    """The JSON schema; its encoding is detected (the upstream NDJSON schema is UTF-16)."""
    schema_path = Path(schema_path)
    try:
        return json.loads(schema_path.read_bytes())
    except FileNotFoundError:
        raise InputError("JSON schema not found", file=schema_path) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"JSON schema cannot be read ({exc})", file=schema_path) from None


def _short(text: str, limit: int = 200) -> str:
    """Cut long messages (jsonschema quotes whole rows) to ``limit`` characters."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def validate_dataset_json(path_or_obj, schema_path=None, *, max_messages: int = 100) -> list[str]:
    """Problems found in a Dataset-JSON dataset, as readable messages (empty = valid).

    ``path_or_obj``: a file (.json/.ndjson/.dsjc) or an already parsed object. Messages
    come from the JSON schema at ``schema_path`` (jsonschema, the draft the schema names;
    ``CDISC_DATASETJSON_SCHEMA`` is used when no path is given) and from the structural
    checks the schema cannot express (row width, records count, type combinations).
    Without any schema only the structural checks run. A file that cannot be parsed gives
    one message. Messages look like ``/columns/3/dataType: 'text' is not one of [...]``.
    """
    import jsonschema  # imported here: only validation needs it

    if isinstance(path_or_obj, (str, os.PathLike)):
        try:
            obj = load_dataset_json(path_or_obj)
        except InputError as exc:
            return [exc.message]
    else:
        obj = path_or_obj
    schema_path = schema_path or os.environ.get("CDISC_DATASETJSON_SCHEMA")
    messages = []
    if schema_path:
        schema = _load_schema(schema_path)
        validator = jsonschema.validators.validator_for(schema)(schema)
        errors = sorted(validator.iter_errors(obj), key=lambda e: [str(p) for p in e.absolute_path])
        for error in errors:
            where = "/" + "/".join(str(p) for p in error.absolute_path)
            messages.append(_short(f"{where}: {error.message}"))
    messages += structure_problems(obj)
    if len(messages) > max_messages:
        messages = messages[:max_messages] + [f"... and {len(messages) - max_messages} more"]
    return messages
