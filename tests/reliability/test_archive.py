"""signalkit.archive refuses members that escape the target folder, links and special files."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile

import pytest

from signalkit.archive import extract_archive
from signalkit.errors import InputError


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            zf.writestr(info, data)
    return path


def _tar(path, members):
    with tarfile.open(path, "w:gz") as tf:
        for name, kind, payload in members:
            info = tarfile.TarInfo(name)
            info.type = kind
            if kind == tarfile.REGTYPE:
                info.size = len(payload)
                tf.addfile(info, io.BytesIO(payload))
            else:
                info.linkname = payload.decode() if payload else ""
                tf.addfile(info)
    return path


def test_good_zip_and_tar_extract(tmp_path):
    z = _zip(tmp_path / "ok.zip", [("a/b.txt", b"hello", stat.S_IFREG | 0o644), ("c.txt", b"x", 0)])
    files = extract_archive(z, tmp_path / "out")
    assert sorted(f.relative_to(tmp_path / "out").as_posix() for f in files) == ["a/b.txt", "c.txt"]
    assert (tmp_path / "out" / "a" / "b.txt").read_bytes() == b"hello"
    t = _tar(tmp_path / "ok.tar.gz", [("d/e.bin", tarfile.REGTYPE, b"\x00\x01")])
    files = extract_archive(t, tmp_path / "out2")
    assert (tmp_path / "out2" / "d" / "e.bin").read_bytes() == b"\x00\x01" and len(files) == 1


@pytest.mark.parametrize("name", ["../evil.txt", "a/../../evil.txt", "/tmp/evil.txt", "..\\evil.txt", "C:\\evil.txt"])
def test_zip_escaping_member_refused(tmp_path, name):
    z = _zip(tmp_path / "bad.zip", [("fine.txt", b"ok", 0), (name, b"pwned", 0)])
    with pytest.raises(InputError, match="bad.zip"):
        extract_archive(z, tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists()
    assert list((tmp_path / "out").iterdir()) == []  # nothing extracted from a bad archive


def test_zip_symlink_refused(tmp_path):
    z = _zip(tmp_path / "link.zip", [("link", b"/etc/passwd", stat.S_IFLNK | 0o777)])
    with pytest.raises(InputError, match="symbolic link"):
        extract_archive(z, tmp_path / "out")


@pytest.mark.parametrize("name,kind,payload,needle", [
    ("../evil.txt", tarfile.REGTYPE, b"x", "'..'"),
    ("/abs/evil.txt", tarfile.REGTYPE, b"x", "absolute"),
    ("link", tarfile.SYMTYPE, b"../../outside", "link"),
    ("hard", tarfile.LNKTYPE, b"/etc/passwd", "link"),
    ("dev", tarfile.CHRTYPE, b"", "device"),
    ("fifo", tarfile.FIFOTYPE, b"", "device"),
])
def test_tar_bad_members_refused(tmp_path, name, kind, payload, needle):
    t = _tar(tmp_path / "bad.tar.gz", [("fine.txt", tarfile.REGTYPE, b"ok"), (name, kind, payload)])
    with pytest.raises(InputError, match=needle):
        extract_archive(t, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_member_through_preexisting_symlink_refused(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out" / "sub").symlink_to(tmp_path / "elsewhere")
    z = _zip(tmp_path / "via.zip", [("sub/evil.txt", b"x", 0)])
    with pytest.raises(InputError, match="outside"):
        extract_archive(z, tmp_path / "out")
    assert not (tmp_path / "elsewhere" / "evil.txt").exists()


def test_not_an_archive(tmp_path):
    (tmp_path / "x.zip").write_bytes(b"not a zip at all")
    with pytest.raises(InputError, match="not a zip or tar"):
        extract_archive(tmp_path / "x.zip", tmp_path / "out")
    with pytest.raises(InputError, match="not found"):
        extract_archive(tmp_path / "missing.zip", tmp_path / "out")
