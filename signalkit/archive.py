"""Safe extraction of zip and tar archives (downloaded data sets, pretrained bundles).

Every member is checked before anything is written: a member whose path is absolute, contains
``..`` that leaves the target folder, is a symbolic or hard link, or is a device, FIFO or other
special file is refused with :class:`~signalkit.errors.InputError` naming the archive and the
member. Nothing is extracted from an archive with one bad member.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import zipfile
from pathlib import Path, PurePosixPath, PureWindowsPath

from signalkit.errors import InputError

_ZIP_SYMLINK = 0o120000
_ZIP_TYPE_MASK = 0o170000


def _safe_relpath(archive: Path, name: str, target: Path) -> Path:
    """The member's destination inside ``target``; raises :class:`InputError` if it escapes."""
    if not name or "\x00" in name:
        raise InputError(f"{archive}: member {name!r} has an empty or invalid name")
    posix, win = PurePosixPath(name), PureWindowsPath(name)
    if posix.is_absolute() or win.is_absolute() or win.drive or name.startswith(("/", "\\")):
        raise InputError(f"{archive}: member {name!r} has an absolute path (refused)")
    parts = name.replace("\\", "/").split("/")
    if ".." in parts:
        raise InputError(f"{archive}: member {name!r} escapes the target folder with '..' (refused)")
    dest = (target / Path(*[p for p in parts if p not in ("", ".")])).resolve() if any(
        p not in ("", ".") for p in parts) else target
    if dest != target and target not in dest.parents:
        raise InputError(f"{archive}: member {name!r} resolves outside the target folder (refused)")
    return dest


def _check_zip(archive: Path, zf: zipfile.ZipFile, target: Path) -> list[tuple[zipfile.ZipInfo, Path]]:
    plan = []
    for info in zf.infolist():
        mode = (info.external_attr >> 16) & _ZIP_TYPE_MASK
        if mode == _ZIP_SYMLINK:
            raise InputError(f"{archive}: member {info.filename!r} is a symbolic link (refused)")
        if mode not in (0, 0o100000, 0o040000):
            raise InputError(f"{archive}: member {info.filename!r} is a special file (refused)")
        plan.append((info, _safe_relpath(archive, info.filename, target)))
    return plan


def _check_tar(archive: Path, tf: tarfile.TarFile, target: Path) -> list[tuple[tarfile.TarInfo, Path]]:
    plan = []
    for info in tf.getmembers():
        if info.issym() or info.islnk():
            raise InputError(f"{archive}: member {info.name!r} is a link to {info.linkname!r} (refused)")
        if not (info.isfile() or info.isdir()):
            raise InputError(f"{archive}: member {info.name!r} is a device, FIFO or special file (refused)")
        plan.append((info, _safe_relpath(archive, info.name, target)))
    return plan


def extract_archive(archive: str | os.PathLike, target: str | os.PathLike) -> list[Path]:
    """Extract a ``.zip``, ``.tar``, ``.tar.gz``/``.tgz``, ``.tar.bz2`` or ``.tar.xz`` into ``target``.

    Args:
        archive: the archive file.
        target: destination folder (created if missing).

    Returns:
        The extracted regular files, in archive order.

    Raises:
        InputError: the archive is missing, not a zip/tar file, or holds a member that is absolute,
            escapes ``target``, is a link or a special file (then nothing is extracted).
    """
    archive = Path(archive)
    if not archive.is_file():
        raise InputError(f"{archive}: file not found")
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    target = target.resolve()
    written: list[Path] = []
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                for info, dest in _check_zip(archive, zf, target):
                    if info.is_dir():
                        dest.mkdir(parents=True, exist_ok=True)
                        continue
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, open(dest, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                    written.append(dest)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tf:
                for info, dest in _check_tar(archive, tf, target):
                    if info.isdir():
                        dest.mkdir(parents=True, exist_ok=True)
                        continue
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    src = tf.extractfile(info)
                    if src is None:
                        raise InputError(f"{archive}: member {info.name!r} cannot be read")
                    with src, open(dest, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                    written.append(dest)
        else:
            raise InputError(f"{archive}: not a zip or tar archive")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as err:
        raise InputError(f"{archive}: cannot extract ({type(err).__name__}: {err})") from None
    return written


__all__ = ["extract_archive"]
