"""Deterministic newc cpio archives and the guest initramfs images.

Why pure Python: the archive must be byte-reproducible (mtime 0, uid/gid 0,
sorted names, fixed inode numbers) so a bundle's digest is stable across runs,
and we do not want to depend on the host ``cpio``'s option spelling or its
habit of recording host metadata.  newc is a trivially simple format:

    "070701" + 13 eight-digit hex fields, the NUL-terminated name padded so
    header+name is a multiple of 4, then the data padded to 4; the archive ends
    with an entry named "TRAILER!!!".

The Linux initramfs unpacker also accepts several archives concatenated,
which the benchmark uses to append a large member of random bytes.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile

# Markers the host watches for on the console.  Kept here so the guest scripts
# and the host-side matching use exactly the same spelling.
MARK_A_BOOTED = "KXE2E-A-BOOTED"
MARK_EXEC = "KXE2E-EXEC"
MARK_LOADED = "KXE2E-LOADED"
MARK_EXEC_FAILED = "KXE2E-EXEC-FAILED"
MARK_B_BOOTED = "KXE2E-B-BOOTED"
MARK_B_CMDLINE = "KXE2E-B-CMDLINE:"
MARK_INFO = "KXE2E-INFO"
MARK_FDT_BEGIN = "KXE2E-FDT-BEGIN"
MARK_FDT_END = "KXE2E-FDT-END"

#: busybox applets the scripts use; busybox for the guest arch cannot run on the
#: host, so we cannot ask it for its list and name the ones we need instead.
APPLETS: tuple[str, ...] = (
    "base64", "cat", "dd", "dmesg", "echo", "grep", "gzip", "head", "hexdump", "ls", "mkdir",
    "mount", "od", "poweroff", "printf", "reboot", "sh", "sha256sum", "sleep",
    "sync", "tr", "uname", "wc",
)


@dataclass(frozen=True)
class Entry:
    mode: int  # full st_mode including the file type bits
    data: bytes = b""
    rdev: tuple[int, int] = (0, 0)


def _pad4(n: int) -> int:
    return (4 - n % 4) % 4


def _header(ino: int, mode: int, nlink: int, size: int, rdev: tuple[int, int], namesize: int) -> bytes:
    fields = (ino, mode, 0, 0, nlink, 0, size, 0, 0, rdev[0], rdev[1], namesize, 0)
    return b"070701" + b"".join(b"%08X" % f for f in fields)


class Archive:
    """An in-memory tree serialised as one deterministic newc archive.

    Paths are absolute-looking (``/bin/sh``) for readability and stored without
    the leading slash, as the kernel's own gen_init_cpio does.  Parent
    directories are created implicitly.
    """

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}

    @staticmethod
    def _norm(path: str) -> str:
        p = str(PurePosixPath("/") / path).lstrip("/")
        if not p or ".." in PurePosixPath(p).parts:
            raise ValueError(f"bad archive path {path!r}")
        return p

    def _parents(self, p: str) -> None:
        for parent in reversed(PurePosixPath(p).parents):
            s = str(parent)
            if s not in (".", "") and s not in self.entries:
                self.entries[s] = Entry(stat.S_IFDIR | 0o755)

    def add_dir(self, path: str, mode: int = 0o755) -> "Archive":
        p = self._norm(path)
        self._parents(p)
        self.entries[p] = Entry(stat.S_IFDIR | mode)
        return self

    def add_file(self, path: str, data: bytes, mode: int = 0o644) -> "Archive":
        p = self._norm(path)
        self._parents(p)
        self.entries[p] = Entry(stat.S_IFREG | mode, bytes(data))
        return self

    def add_symlink(self, path: str, target: str) -> "Archive":
        p = self._norm(path)
        self._parents(p)
        self.entries[p] = Entry(stat.S_IFLNK | 0o777, target.encode())
        return self

    def add_chardev(self, path: str, major: int, minor: int, mode: int = 0o600) -> "Archive":
        p = self._norm(path)
        self._parents(p)
        self.entries[p] = Entry(stat.S_IFCHR | mode, b"", (major, minor))
        return self

    def to_bytes(self) -> bytes:
        out = bytearray()
        for ino, name in enumerate(sorted(self.entries), start=1):
            e = self.entries[name]
            nb = name.encode() + b"\0"
            nlink = 2 if stat.S_ISDIR(e.mode) else 1
            hdr = _header(ino, e.mode, nlink, len(e.data), e.rdev, len(nb))
            out += hdr + nb + b"\0" * _pad4(len(hdr) + len(nb))
            out += e.data + b"\0" * _pad4(len(e.data))
        nb = b"TRAILER!!!\0"
        hdr = _header(0, 0, 1, 0, (0, 0), len(nb))
        out += hdr + nb + b"\0" * _pad4(len(hdr) + len(nb))
        # Pad to 512 like cpio(1) does; harmless for the kernel and tidier for concatenation.
        out += b"\0" * ((512 - len(out) % 512) % 512)
        return bytes(out)

    def write(self, path: Path) -> Path:
        path.write_bytes(self.to_bytes())
        return path


def parse_newc(blob: bytes) -> dict[str, Entry]:
    """Read back a (possibly concatenated) newc archive; used by the unit tests."""
    entries: dict[str, Entry] = {}
    off = 0
    while off + 110 <= len(blob):
        if blob[off : off + 6] != b"070701":
            if blob[off : off + 1] == b"\0":  # inter-archive padding
                off += 1
                continue
            raise ValueError(f"bad magic at {off}")
        f = [int(blob[off + 6 + 8 * i : off + 14 + 8 * i], 16) for i in range(13)]
        mode, size, rmaj, rmin, namesize = f[1], f[6], f[9], f[10], f[11]
        name_off = off + 110
        name = blob[name_off : name_off + namesize - 1].decode()
        data_off = name_off + namesize + _pad4(110 + namesize)
        data = blob[data_off : data_off + size]
        off = data_off + size + _pad4(size)
        if name != "TRAILER!!!":
            entries[name] = Entry(mode, data, (rmaj, rmin))
    return entries


# --------------------------------------------------------------------------- guest pieces


def busybox_base(busybox: Path) -> Archive:
    """Skeleton every guest image shares: busybox, applet links, mount points, console node.

    ``/dev/console`` must exist *in the archive*: the kernel opens it for init's
    stdio before init can mount devtmpfs; without it init's output is lost.
    """
    a = Archive()
    for d in ("/proc", "/sys", "/dev", "/tmp", "/sbin"):
        a.add_dir(d)
    a.add_chardev("/dev/console", 5, 1)
    a.add_file("/bin/busybox", busybox.read_bytes(), 0o755)
    for applet in APPLETS:
        a.add_symlink(f"/bin/{applet}", "busybox")
    return a


_PRELUDE = """#!/bin/sh
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
"""

#: Facts about the running kernel A that the toolchain authors asked for; one
#: ``KXE2E-INFO key=value`` line each, hex for device-tree cells.
_INFO = f"""info() {{ echo "{MARK_INFO} $1=$2"; }}
dt() {{ [ -e "$1" ] && hexdump -v -e '/1 "%02x"' "$1" || echo none; }}
info uname "$(uname -r)"
info kernel-end "$(dt /proc/device-tree/chosen/linux,kernel-end)"
info initrd-start "$(dt /proc/device-tree/chosen/linux,initrd-start)"
info initrd-end "$(dt /proc/device-tree/chosen/linux,initrd-end)"
info rtas-base "$(dt /proc/device-tree/rtas/linux,rtas-base)"
info rtas-size "$(dt /proc/device-tree/rtas/rtas-size)"
info fdt-size "$(wc -c < /sys/firmware/fdt)"
info memory "$(head -n 1 /proc/meminfo | tr -s ' ')"
info kernel-iomem "$(grep Kernel /proc/iomem | tr -s ' ' | tr '\\n' ';')"
info cpu-el "$(dmesg | grep -o 'started at EL[0-9]' | head -n 1)"
for d in /sys/firmware/memmap/*; do
  [ -d "$d" ] && info "memmap-${{d##*/}}" "$(cat $d/start) $(cat $d/end) $(cat $d/type)"
done
"""


def init_a(load_cmd: str, exec_cmd: str = "", info: bool = True, dump_fdt: bool = False) -> str:
    """``/init`` for kernel A.

    ``KXE2E-EXEC`` is printed right before ``load_cmd`` so "exec marker to
    kernel B's first line" covers load + hand-off + purgatory for both
    kexec-tools (``kexec -l`` then ``kexec -e``) and ``kxload --exec`` (both in
    one call); ``KXE2E-LOADED`` separates the two halves when they are separate.
    If the hand-off returns, the failure marker is printed and the VM powers off.
    """
    s = _PRELUDE + f"echo {MARK_A_BOOTED}\n"
    if info:
        s += _INFO
    if dump_fdt:
        s += "[ -e /sys/firmware/fdt ] && {\n" + (
            f'echo "{MARK_INFO} fdt-sha256=$(sha256sum < /sys/firmware/fdt | head -c 64)"\n'
            f"echo {MARK_FDT_BEGIN}\n"
            "gzip -9 -c /sys/firmware/fdt | base64\n"
            f"echo {MARK_FDT_END}\n"
        ) + "}\n"
    if load_cmd:
        s += f"echo {MARK_EXEC}\n{load_cmd}\nrc=$?\n"
        if exec_cmd:
            s += f'if [ $rc = 0 ]; then echo {MARK_LOADED}; {exec_cmd}; rc=$?; fi\n'
        s += f'echo "{MARK_EXEC_FAILED} rc=$rc"\n'
    s += "sync\npoweroff -f\n"
    return s


def init_b() -> str:
    """``/init`` for kernel B: prove it booted, show what cmdline it got, power off."""
    return (
        _PRELUDE
        + f"echo {MARK_B_BOOTED}\n"
        + f'echo "{MARK_B_CMDLINE} $(cat /proc/cmdline)"\n'
        + "poweroff -f\n"
    )


def b_initramfs(busybox: Path) -> bytes:
    a = busybox_base(busybox)
    a.add_file("/init", init_b().encode(), 0o755)
    return a.to_bytes()


def padded(cpio: bytes, pad_bytes: int, seed: int = 0) -> bytes:
    """``cpio`` followed by a second archive with one member of random bytes.

    Random (not zero) so neither compression nor a sparse shortcut hides the
    cost of hashing/copying it; seeded so runs are comparable.
    """
    import random

    rnd = random.Random(seed).randbytes(pad_bytes)
    return cpio + Archive().add_file("/pad.bin", rnd).to_bytes()


# --------------------------------------------------------------------------- dynamic programs


def _inside(root: Path, path: str | Path) -> Path:
    """Map a guest absolute path into the extracted tree, following guest symlinks."""
    p = root / str(path).lstrip("/")
    for _ in range(40):
        if not p.is_symlink():
            return p
        target = Path(p.readlink())
        p = root / str(target).lstrip("/") if target.is_absolute() else p.parent / target
    raise RuntimeError(f"symlink loop at {path}")


def _elf_needs(data_path: Path) -> tuple[str | None, list[str]]:
    with open(data_path, "rb") as fh:
        elf = ELFFile(fh)
        interp = None
        for seg in elf.iter_segments():
            if seg["p_type"] == "PT_INTERP":
                interp = seg.get_interp_name()
        needed: list[str] = []
        for sec in elf.iter_sections():
            if isinstance(sec, DynamicSection):
                needed += [t.needed for t in sec.iter_tags() if t.entry.d_tag == "DT_NEEDED"]
        return interp, needed


def add_dynamic_program(a: Archive, root: Path, guest_path: str, triplet: str) -> list[str]:
    """Copy a dynamically linked guest program plus its interpreter and libraries.

    Libraries are looked up in the standard multiarch directories of the
    extracted Debian packages and placed at the same paths in the archive
    (the interpreter's symlink too), so the guest loader's default search
    path finds them.  Returns the guest paths added, for diagnostics.
    """
    libdirs = [f"/lib/{triplet}", f"/usr/lib/{triplet}", "/lib", "/usr/lib", "/lib64"]
    added: list[str] = []
    todo = [guest_path]
    seen: set[str] = set()
    while todo:
        gp = todo.pop()
        if gp in seen:
            continue
        seen.add(gp)
        host = _inside(root, gp)
        if not host.is_file():
            raise FileNotFoundError(f"{gp} not found under {root}")
        a.add_file(gp, host.read_bytes(), 0o755)
        added.append(gp)
        # Keep the original symlink name too when the real file lives elsewhere.
        link = root / gp.lstrip("/")
        if link.is_symlink():
            real = "/" + str(host.relative_to(root))
            a.add_file(real, host.read_bytes(), 0o755)
        interp, needed = _elf_needs(host)
        if interp:
            todo.append(interp)
        for lib in needed:
            for d in libdirs:
                if _inside(root, f"{d}/{lib}").is_file():
                    todo.append(f"{d}/{lib}")
                    break
            else:
                raise FileNotFoundError(f"{lib} (needed by {gp}) not in the extracted packages")
    return added


def a_initramfs_kexec_tools(
    busybox: Path,
    root: Path,
    triplet: str,
    kernel_b: Path,
    initrd_b: bytes,
    append: str,
    extra_args: str = "",
) -> bytes:
    """Kernel A image that boots kernel B with Debian's kexec-tools.

    kexec-tools builds kernel B's device tree from the live system itself.
    """
    a = busybox_base(busybox)
    add_dynamic_program(a, root, "/sbin/kexec", triplet)
    a.add_file("/vmlinux", kernel_b.read_bytes())
    a.add_file("/b.cpio", initrd_b)
    load = f"kexec {extra_args} -l /vmlinux --initrd=/b.cpio --append='{append}'"
    a.add_file("/init", init_a(load, "kexec -e").encode(), 0o755)
    return a.to_bytes()


def a_initramfs_ours(busybox: Path, kxload: Path, bundle: Path) -> bytes:
    """Kernel A image for our own pieces: static ``/kxload`` plus ``/bundle.kxb``."""
    a = busybox_base(busybox)
    a.add_file("/kxload", kxload.read_bytes(), 0o755)
    a.add_file("/bundle.kxb", bundle.read_bytes())
    a.add_file("/init", init_a("/kxload --exec /bundle.kxb").encode(), 0o755)
    return a.to_bytes()


def a_initramfs_fdt_dump(busybox: Path) -> bytes:
    """Kernel A image that only reports facts and dumps ``/sys/firmware/fdt``."""
    a = busybox_base(busybox)
    a.add_file("/init", init_a("", dump_fdt=True).encode(), 0o755)
    return a.to_bytes()
