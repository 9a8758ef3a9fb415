"""What a command may write: only outputs it owns, replaced all-or-nothing.

Rules (README "What --out may touch"):

- An output folder or file never overlaps an input: it is not, does not hold and is not
  inside the raw folder, the study folder or the input dataset folder, and does not hold the
  config file. Nor is it the current folder (or one holding it): the folder is replaced as a
  whole, which would leave the shell in a deleted folder.
- An existing output folder is replaced only when it is empty or every file in it was
  written by this tool, as recorded in a manifest file (:data:`MANIFEST`) that every command
  writes into its output folder (no timestamp: the same run gives the same bytes).
  Anything else needs ``--force``. An existing output file
  (define.xml, a validation report) is replaced only when the manifest of its folder lists
  it (or with ``--force``); the file is then added to that manifest.
- A folder is built completely in a hidden staging sibling and swapped in at the end
  (:func:`cdisc_convert.io.atomic.swap_in`): killed or failing at any point, the target holds
  the complete previous output or the complete new one. Staging folders of a killed run are
  removed (or, after the fallback's half swap, moved back) at the next start.
- One command at a time per output folder: a lock file beside it (``fcntl.flock``); a second
  run is refused, not raced.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
from pathlib import Path

from cdisc_convert.core import interrupts
from cdisc_convert.core.errors import CdiscError, OutputError

from .atomic import atomic_file, swap_in

try:
    import fcntl
except ImportError:                       # Windows: no lock (documented in the README)
    fcntl = None

# no dataset suffix: no reader takes it for a dataset (read_folder reads *.json)
MANIFEST = ".cdisc-convert-manifest"
_STAGING = ".cdisc-convert-staging."
_OLD = ".cdisc-convert-old."
_LOCK = ".cdisc-convert-lock"
DATASET_SUFFIXES = {".xpt", ".json", ".ndjson", ".dsjc", ".csv", ".sas7bdat", ".xlsx", ".xls"}


def _real(path: Path | str) -> Path:
    return Path(os.path.realpath(os.path.expanduser(os.fspath(path))))


def _inside(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cdisc-convert")
    except PackageNotFoundError:          # run from a source tree that is not installed
        return "unknown"


# --------------------------------------------------------------------------------------
# manifests
# --------------------------------------------------------------------------------------
def read_manifest(folder: Path) -> dict | None:
    """The manifest of ``folder``, or None when there is none or it is not one of ours."""
    try:
        data = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not (isinstance(data, dict) and data.get("tool") == "cdisc-convert"
            and isinstance(data.get("files"), list)):
        return None
    return data


def _manifest_bytes(command: str, files: list[str]) -> bytes:
    data = {"tool": "cdisc-convert", "version": _version(), "command": command,
            "files": sorted(set(files))}
    return (json.dumps(data, indent=1) + "\n").encode("utf-8")


def _files_under(folder: Path) -> list[str]:
    """Every file (and symlink, fifo ...) under ``folder`` but manifests, as posix paths
    relative to it, without following symlinks."""
    out = []
    for top, dirs, files in os.walk(folder, followlinks=False):
        rel = Path(top).relative_to(folder)
        entries = files + [d for d in dirs if os.path.islink(os.path.join(top, d))]
        out += [(rel / name).as_posix() for name in entries if name != MANIFEST]
    return out


def write_manifests(root: Path, command: str, *, nested: bool = True) -> None:
    """A manifest in ``root`` and (``nested``) in each folder below it, listing the files
    under it."""
    for top, _dirs, _files in os.walk(root, followlinks=False):
        folder = Path(top)
        (folder / MANIFEST).write_bytes(_manifest_bytes(command, _files_under(folder)))
        if not nested:
            break


def foreign_files(folder: Path) -> list[str]:
    """Files under ``folder`` that no manifest (in their folder or one above it, up to
    ``folder``) lists: files this tool did not write."""
    owned: set[str] = set()
    for top, _dirs, files in os.walk(folder, followlinks=False):
        if MANIFEST in files:
            data = read_manifest(Path(top)) or {"files": []}
            rel = Path(top).relative_to(folder)
            owned.update((rel / str(f)).as_posix() for f in data["files"])
    return [f for f in _files_under(folder) if f not in owned]


def claim_files(paths: list[Path], command: str) -> None:
    """Record single output files (define.xml, a report) in their folder's manifest."""
    by_folder: dict[Path, list[str]] = {}
    for path in paths:
        by_folder.setdefault(Path(path).parent, []).append(Path(path).name)
    for folder, names in by_folder.items():
        current = read_manifest(folder)
        files = list(current["files"]) if current else []
        if all(name in files for name in names):
            continue
        data = _manifest_bytes(current.get("command", command) if current else command,
                               files + names)
        with atomic_file(folder / MANIFEST) as handle:
            handle.write(data)


# --------------------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------------------
def check_not_input(out: Path, inputs: dict[str, Path | None], *, what: str = "--out") -> None:
    """Refuse an output path that is, holds or is inside an input folder, or holds an input
    file (``inputs``: a description -> a path; files count only when held)."""
    real = _real(out)
    for label, path in inputs.items():
        if path is None:
            continue
        source = _real(path)
        if source.is_file():
            overlap = _inside(source, real)
            how = "holds"
        else:
            overlap = _inside(real, source) or _inside(source, real)
            how = ("is" if real == source else "is inside" if _inside(real, source)
                   else "holds")
        if overlap:
            raise OutputError(f"{what} {out} {how} the {label} {path}: a command never writes "
                              "into its inputs; choose another output folder",
                              rule="OUT-OVERLAPS-INPUT")
    cwd = _real(os.getcwd())
    if _inside(cwd, real) and not real.is_file():
        raise OutputError(f"{what} {out} is the current folder or holds it; the output "
                          "folder is replaced as a whole, so write it into a subfolder "
                          "(e.g. --out out)", rule="OUT-IS-CWD")


def check_output_file(out: Path, *, inputs: dict[str, Path | None], data_folder: Path | None,
                      force: bool, what: str = "--out") -> None:
    """Refuse an output file that is an input, would be read as a dataset of
    ``data_folder`` next time, is a folder, or exists and was not written by this tool."""
    out = Path(out)
    real = _real(out)
    for label, path in inputs.items():
        if path is not None and (_real(path) == real or (not _real(path).is_file()
                                                          and _inside(real, _real(path)))):
            raise OutputError(f"{what} {out} is or is inside the {label} {path}: a command never "
                              "writes into its inputs", rule="OUT-OVERLAPS-INPUT")
    if data_folder is not None and real.parent == _real(data_folder) \
            and real.suffix.lower() in DATASET_SUFFIXES:
        raise OutputError(f"{what} {out} is inside the dataset folder {data_folder} with a "
                          "dataset's suffix: it would be read as a dataset; write it elsewhere",
                          rule="OUT-OVERLAPS-INPUT")
    if real.is_dir():
        raise OutputError(f"{what} {out} is a folder; give a file name", rule="OUT-NOT-FILE")
    if os.path.lexists(out) and not force:
        listed = read_manifest(real.parent)
        if not (listed and real.name in listed["files"]):
            raise OutputError(f"{what} {out} exists and was not written by cdisc-convert (no "
                              f"manifest lists it); choose another file name, remove it, or "
                              "pass --force to replace it", rule="OUT-FOREIGN")


# --------------------------------------------------------------------------------------
# the lock, stale staging folders, the output folder itself
# --------------------------------------------------------------------------------------
@contextlib.contextmanager
def lock(target: Path):
    """Hold an exclusive lock for writing ``target`` (a lock file beside it, removed at the
    end); another holder makes this an :class:`OutputError` at once."""
    if fcntl is None:
        yield
        return
    path = target.parent / f".{target.name}{_LOCK}"
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise OutputError(f"cannot write beside {target} ({exc.strerror})",
                              file=target.parent, rule="OUT-UNWRITABLE") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            os.close(fd)
            raise OutputError(f"another cdisc-convert (process {holder or '?'}) is writing "
                              f"{target}; wait for it to finish or choose another folder",
                              rule="OUT-LOCKED") from None
        # the previous holder removes the file when done: a lock on a removed file is none
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(fd)


def recover_stale(target: Path) -> None:
    """Clean up after earlier runs into ``target`` that were killed (call with the lock held):
    staging folders go; after a half-done fallback swap the old output is moved back."""
    prefix = f".{target.name}"
    pattern = re.compile(re.escape(prefix) + rf"({re.escape(_STAGING)}|{re.escape(_OLD)})[0-9a-f]+")
    try:
        names = sorted(os.listdir(target.parent))
    except OSError:
        return
    stale = [target.parent / n for n in names if pattern.fullmatch(n)]
    for path in stale:
        if _OLD in path.name and not os.path.lexists(target):
            os.rename(path, target)            # the previous output, complete
        else:
            shutil.rmtree(path, ignore_errors=True)


def _name_the_target(exc: BaseException, staging: Path, shown: Path) -> None:
    """Name ``shown`` instead of the staging folder (gone by now) in an error's message."""
    old, new = str(staging), str(shown)
    if isinstance(exc, CdiscError):
        exc.message = exc.message.replace(old, new)
        if exc.location.file:
            exc.location.file = exc.location.file.replace(old, new)
        exc.details = [d.replace(old, new) for d in exc.details]
        exc.args = (exc.format(),)
    elif isinstance(exc, OSError) and isinstance(exc.filename, str):
        exc.filename = exc.filename.replace(old, new)


@contextlib.contextmanager
def output_folder(out: Path | str, *, command: str, inputs: dict[str, Path | None],
                  force: bool = False, nested_manifests: bool = True):
    """Yield an empty staging folder; when the block succeeds its content (plus manifests)
    replaces ``out`` in one step. On any error or interruption ``out`` is left as it was.
    ``nested_manifests=False``: one manifest in ``out`` only (it lists every file below),
    for trees that must hold nothing but their content (the eCTD package).

    Refused (:class:`OutputError`, exit code 2) before anything is written: ``out``
    overlapping an input or holding the current folder, ``out`` not a folder, a non-empty
    ``out`` holding files this tool did not write (unless ``force``), another run writing
    ``out``.
    """
    shown = Path(out)
    check_not_input(shown, inputs)
    target = _real(shown)
    if target == target.parent:
        raise OutputError(f"--out {shown} is the root folder", rule="OUT-OVERLAPS-INPUT")
    if os.path.lexists(target) and not target.is_dir():
        raise OutputError(f"--out {shown} exists and is not a folder", rule="OUT-NOT-FOLDER")
    if os.path.ismount(target):
        raise OutputError(f"--out {shown} is a mount point, which cannot be replaced as a "
                          "whole; write into a folder inside it", rule="OUT-MOUNT")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)     # mode 0o777 less the umask
    except OSError as exc:
        raise OutputError(f"cannot create the folder {shown.parent} ({exc.strerror})",
                          rule="OUT-UNWRITABLE") from None
    with lock(target):
        recover_stale(target)
        if target.is_dir() and not force:
            foreign = foreign_files(target)
            if foreign:
                listed = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more"
                                                   if len(foreign) > 5 else "")
                raise OutputError(f"--out {shown} is not empty and holds files cdisc-convert did "
                                  f"not write ({listed}); choose a new or empty folder, or pass "
                                  "--force to replace the folder with everything in it",
                                  rule="OUT-FOREIGN")
        token = secrets.token_hex(6)
        staging = target.parent / f".{target.name}{_STAGING}{token}"
        try:
            os.mkdir(staging, 0o777)                           # the umask applies
        except OSError as exc:
            raise OutputError(f"cannot write into {shown.parent} ({exc.strerror})",
                              rule="OUT-UNWRITABLE") from None
        try:
            yield staging
            write_manifests(staging, command, nested=nested_manifests)
            interrupts.check()          # a stop request dropped on its way still stops here
            old = swap_in(staging, target, target.parent / f".{target.name}{_OLD}{token}")
        except BaseException as exc:
            shutil.rmtree(staging, ignore_errors=True)
            _name_the_target(exc, staging, shown)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
