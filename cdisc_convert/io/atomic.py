"""All-or-nothing file and folder replacement.

A file is written to a hidden temporary sibling and renamed over its target when complete
(:func:`atomic_file`). A folder is built completely in a staging sibling and then swapped
with its target in one step (:func:`swap_in`): on Linux with ``renameat2(RENAME_EXCHANGE)``,
which exchanges the two names atomically, so at every instant the target name holds either
the complete old tree or the complete new one. Where that call is missing (other systems,
old kernels, file systems without it) the fallback is two renames, target -> a hidden
``-old`` sibling, then staging -> target; a process killed between the two leaves no target
and a complete old tree under the hidden name, which
:func:`cdisc_convert.io.output.recover_stale` moves back at the next start.
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import secrets
import sys
from pathlib import Path

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
# syscall numbers of renameat2 for when libc has no wrapper (glibc < 2.28)
_SYS_RENAMEAT2 = {"x86_64": 316, "aarch64": 276, "i686": 353, "i386": 353, "armv7l": 382,
                  "ppc64le": 357, "s390x": 347, "riscv64": 276}


def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


_LIBC = _libc()


def exchange(a: Path | str, b: Path | str) -> bool:
    """Swap the names ``a`` and ``b`` (both must exist) in one atomic step.

    Returns False when the system cannot (not Linux, no renameat2, a file system without
    RENAME_EXCHANGE); other failures raise OSError.
    """
    if _LIBC is None:
        return False
    a_bytes, b_bytes = os.fsencode(os.fspath(a)), os.fsencode(os.fspath(b))
    func = getattr(_LIBC, "renameat2", None)
    if func is not None:
        func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                         ctypes.c_uint]
        result = func(_AT_FDCWD, a_bytes, _AT_FDCWD, b_bytes, _RENAME_EXCHANGE)
    else:
        number = _SYS_RENAMEAT2.get(os.uname().machine)
        if number is None:
            return False
        syscall = _LIBC.syscall
        syscall.restype = ctypes.c_long
        result = syscall(ctypes.c_long(number), ctypes.c_int(_AT_FDCWD), a_bytes,
                         ctypes.c_int(_AT_FDCWD), b_bytes, ctypes.c_uint(_RENAME_EXCHANGE))
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), os.fspath(a))


def swap_in(staging: Path, target: Path, old: Path) -> Path | None:
    """Put the complete folder ``staging`` at ``target``.

    Returns the path now holding the previous target (to delete), or None when there was
    none. With RENAME_EXCHANGE that is ``staging`` itself; with the fallback it is ``old``.
    """
    if not os.path.lexists(target):
        os.rename(staging, target)
        return None
    if exchange(staging, target):
        return staging
    os.rename(target, old)            # fallback: see the module docstring
    os.rename(staging, target)
    return old


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
