"""Writing files and folders of outputs all-or-nothing.

Outputs are written into a hidden sibling (file or folder) and moved into place only when
everything succeeded, so a failure never leaves a half-written output that looks complete
and an existing one stays untouched.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_folder(target: Path | str):
    """Yield a temporary folder; on success it replaces ``target`` (whose old content goes)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_file(path: Path | str, mode: str = "wb", **open_kwargs):
    """Yield a handle on a temporary file beside ``path``; on success it replaces ``path``.

    The folder must exist (callers decide whether to create it). On any failure the
    temporary file is removed. The file is created with mode 0o666 (less
    the umask), i.e. the permissions of an ordinary new file, not mkstemp's 0o600.
    """
    path = Path(path)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    descriptor = os.open(temp, flags, 0o666)
    try:
        with os.fdopen(descriptor, mode, **open_kwargs) as handle:
            yield handle
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
