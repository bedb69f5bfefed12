"""Build and run the hash harness: the purgatory's SHA-256 objects in a small freestanding ELF
per arch, run by unicorn (x86_64, arm64, riscv64) or qemu-user (ppc64le), with counters.

Counting (what ``Counts`` holds, all for the code between __hash_start and __hash_end, i.e.
kx_hash_regions and everything it calls, the harness excluded):
  - unicorn: a block hook adds the number of instructions of each executed translation block
    (decoded once with capstone and cached by address and size); read and write hooks count
    every data access the emulator makes (a load/store pair instruction counts as two, the
    way QEMU performs it; x86 push/call/ret count as the stack access they are).
  - qemu-user (no TCG plugin support in Debian's static qemu 7.2): ``-d in_asm,exec,nochain``
    logs every translated block's instructions once and every block execution (chaining off,
    so each execution goes through the logged lookup); each executed block adds its
    instructions, and its loads/stores as capstone decodes them (instructions with a memory
    mnemonic, st* = store, l* = load except li/lis/la/lwsync).
"""
from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from elftools.elf.elffile import ELFFile  # noqa: E402

from toolchain.arches import get as get_arch  # noqa: E402
from toolchain.build import COMMON_CFLAGS, run  # noqa: E402
from toolchain.compilers import DEFAULT, reproducible_flags  # noqa: E402

HERE = Path(__file__).resolve().parent
COMMON = REPO / "purgatory" / "common"
MAX_REGIONS = 16
DATA_SIZE = 2 << 20
STOP = 0x0FFF0000   # return address that ends a unicorn run (mapped, never executed)


@dataclass(frozen=True)
class Target:
    name: str
    zig_target: str
    cflags: tuple[str, ...]
    inc: Path | None          # the arch's purgatory folder (for its headers), if any


def target(name: str) -> Target:
    if name == "riscv64":
        # No riscv64 purgatory yet: the common code compiled for RV64GC (zig: baseline_rv64).
        return Target(name, "riscv64-freestanding", ("-mcpu=baseline_rv64", "-mcmodel=medany",
                                                    "-mno-relax"), None)
    a = get_arch(name)
    return Target(name, a.zig_target, tuple(a.cflags), a.purgatory_src)


HW_ARM64 = REPO / "purgatory" / "arm64" / "sha256_ce.S"
HW_X86 = REPO / "purgatory" / "x86_64" / "sha256_ni.S"
SSE_X86 = REPO / "purgatory" / "x86_64" / "sha256_sse.S"   # sha256_ni.S's fallback
ASM_PPC64 = REPO / "purgatory" / "ppc64" / "sha256_ppc64.S"
ASM_RISCV64 = REPO / "purgatory" / "riscv64" / "sha256_riscv64.S"

# Hash implementations: name -> (arches, sources besides mem.c/data.c).
IMPLS = {
    "baseline": [REPO / "bench" / "baseline" / "sha256_baseline.c"],
    "portable": [COMMON / "sha256.c", COMMON / "sha256_arch.c"],
    "arm64-ce": [COMMON / "sha256.c", COMMON / "sha256_arch.c", HW_ARM64],
    "x86_64-ni": [COMMON / "sha256.c", COMMON / "sha256_arch.c", HW_X86, SSE_X86],
    # The same objects as the purgatory; unicorn's CPUID has no SHA, so this runs the SSE2 path.
    "x86_64-sse": [COMMON / "sha256.c", COMMON / "sha256_arch.c", HW_X86, SSE_X86],
    # Host only (a SHA-NI host would take the SHA path): the hook calls the SSE2 path directly.
    "x86_64-sse-direct": [COMMON / "sha256.c", COMMON / "sha256_arch.c", SSE_X86,
                          HERE / "sse_direct.c"],
    # The ppc64 purgatory's register-resident assembly (overrides the weak hook).
    "ppc64le-asm": [COMMON / "sha256.c", COMMON / "sha256_arch.c", ASM_PPC64],
    # The riscv64 register-resident assembly (overrides the weak hook; RV64GC, no Zbb).
    "riscv64-asm": [COMMON / "sha256.c", COMMON / "sha256_arch.c", ASM_RISCV64],
}


def _cflags(t: Target) -> list[str]:
    incs = [COMMON] + ([t.inc] if t.inc else [])
    return ["-target", t.zig_target, *t.cflags, *COMMON_CFLAGS, *reproducible_flags(REPO),
            *(f"-I{p}" for p in incs)]


@dataclass
class Built:
    elf: Path
    arch: str
    impl: str
    symbols: dict[str, tuple[int, int]]   # name -> (value, size)
    hash_range: tuple[int, int]
    code_size: int                        # bytes of .text of the hash objects
    obj_sizes: dict[str, int] = field(default_factory=dict)   # source name -> .text bytes
    weak: frozenset[str] = frozenset()    # names still bound STB_WEAK after the link


def _text_size(obj: Path) -> int:
    with open(obj, "rb") as f:
        elf = ELFFile(f)
        return sum(s["sh_size"] for s in elf.iter_sections()
                   if s["sh_flags"] & 4)


def build(arch: str, impl: str, out_dir: Path) -> Built:
    t = target(arch)
    out = Path(out_dir) / f"{arch}-{impl}"
    out.mkdir(parents=True, exist_ok=True)
    cache = Path(out_dir) / "zig-cache"
    hash_srcs = [Path(p) for p in IMPLS[impl]]
    srcs = hash_srcs + [COMMON / "mem.c", COMMON / "data.c", HERE / "harness.c"]
    if arch == "ppc64le":
        srcs += [HERE / "linux_main.c", HERE / "start_ppc64le.S"]
    else:
        srcs += [HERE / "start_unicorn.S"]
    objs, code, sizes = [], 0, {}
    for src in srcs:
        obj = out / f"{src.parent.name}-{src.stem}.o"
        run([*DEFAULT.cc(), *_cflags(t), "-c", str(src), "-o", str(obj)], cache)
        objs.append(obj)
        if src in hash_srcs:
            sizes[src.name] = _text_size(obj)
            code += sizes[src.name]
    elf = out / "harness.elf"
    run([*DEFAULT.cc(), "-target", t.zig_target, "-nostdlib", "-static",
         f"-Wl,-T,{HERE / 'link.ld'}", "-Wl,--build-id=none", "-Wl,--no-undefined",
         *map(str, objs), "-o", str(elf)], cache)
    syms, weak = {}, set()
    with open(elf, "rb") as f:
        for s in ELFFile(f).get_section_by_name(".symtab").iter_symbols():
            if s.name:
                syms[s.name] = (s["st_value"], s["st_size"])
                if s["st_info"]["bind"] == "STB_WEAK":
                    weak.add(s.name)
    return Built(elf, arch, impl, syms, (syms["__hash_start"][0], syms["__hash_end"][0]), code, sizes, frozenset(weak))


def job_bytes(offset: int, lens: list[int]) -> bytes:
    assert len(lens) <= MAX_REGIONS and 0 <= offset < 64 and sum(lens) <= DATA_SIZE
    n = len(lens)
    lens = list(lens) + [0] * (MAX_REGIONS - n)
    return struct.pack("<18Q", offset, n, *lens)


@dataclass
class Counts:
    digest: bytes
    instructions: int = 0
    loads: int = 0
    stores: int = 0
    nbytes: int = 0

    def per_byte(self) -> tuple[float, float, float]:
        n = max(self.nbytes, 1)
        return self.instructions / n, self.loads / n, self.stores / n


# ---------------------------------------------------------------- unicorn
def _uc_setup(arch: str):
    import capstone as cs
    import unicorn as U
    if arch == "x86_64":
        from unicorn import x86_const as X
        return (U.Uc(U.UC_ARCH_X86, U.UC_MODE_64), cs.Cs(cs.CS_ARCH_X86, cs.CS_MODE_64),
                X.UC_X86_REG_RSP, X.UC_X86_REG_RIP, None)
    if arch == "arm64":
        from unicorn import arm64_const as A
        return (U.Uc(U.UC_ARCH_ARM64, U.UC_MODE_ARM), cs.Cs(cs.CS_ARCH_ARM64, cs.CS_MODE_ARM),
                A.UC_ARM64_REG_SP, A.UC_ARM64_REG_PC, A.UC_ARM64_REG_X30)
    if arch == "riscv64":
        from unicorn import riscv_const as R
        return (U.Uc(U.UC_ARCH_RISCV, U.UC_MODE_RISCV64),
                cs.Cs(cs.CS_ARCH_RISCV, cs.CS_MODE_RISCV64 | cs.CS_MODE_RISCVC),
                R.UC_RISCV_REG_SP, R.UC_RISCV_REG_PC, R.UC_RISCV_REG_RA)
    raise ValueError(arch)


def run_unicorn(b: Built, data: bytes, lens: list[int], offset: int = 0, count: bool = True,
                cpu_model: int | None = None, limit: int = 0, setup=None) -> Counts:
    """``setup(uc)`` may add hooks before the run (e.g. to change what MRS reads)."""
    assert sum(lens) == len(data), "regions must cover the message exactly"
    import unicorn as U
    uc, dis, sp_reg, pc_reg, lr_reg = _uc_setup(b.arch)
    if cpu_model is not None:
        uc.ctl_set_cpu_model(cpu_model)
    with open(b.elf, "rb") as f:
        elf = ELFFile(f)
        segs = [(s["p_vaddr"], s["p_memsz"], s.data()) for s in elf.iter_segments()
                if s["p_type"] == "PT_LOAD"]
    for vaddr, memsz, blob in segs:
        lo, hi = vaddr & ~0xFFF, (vaddr + memsz + 0xFFF) & ~0xFFF
        uc.mem_map(lo, hi - lo)
        uc.mem_write(vaddr, blob)
    uc.mem_map(STOP, 0x1000)
    uc.mem_write(b.symbols["hx_job"][0], job_bytes(offset, lens))
    uc.mem_write(b.symbols["hx_data"][0] + offset, data)
    sp = b.symbols["hx_stack_top"][0] - 64
    if lr_reg is None:                     # x86_64: return address on the stack
        sp -= 8
        uc.mem_write(sp, struct.pack("<Q", STOP))
    else:
        uc.reg_write(lr_reg, STOP)
    uc.reg_write(sp_reg, sp)
    res = Counts(b"", nbytes=len(data))
    if count:
        lo, hi = b.hash_range
        sizes: dict[tuple[int, int], int] = {}

        def on_block(uc_, addr, size, _):
            if lo <= addr < hi:
                key = (addr, size)
                n = sizes.get(key)
                if n is None:
                    n = sizes[key] = sum(1 for _ in dis.disasm_lite(bytes(uc_.mem_read(addr, size)), addr))
                res.instructions += n

        def on_read(*_):
            res.loads += 1

        def on_write(*_):
            res.stores += 1

        uc.hook_add(U.UC_HOOK_BLOCK, on_block)
        uc.hook_add(U.UC_HOOK_MEM_READ, on_read)
        uc.hook_add(U.UC_HOOK_MEM_WRITE, on_write)
    if setup is not None:
        setup(uc)
    uc.emu_start(b.symbols["hx_run"][0], STOP, count=limit)
    if uc.reg_read(pc_reg) != STOP:
        raise RuntimeError(f"{b.arch}/{b.impl}: stopped at {uc.reg_read(pc_reg):#x}")
    res.digest = bytes(uc.mem_read(b.symbols["hx_out"][0], 32))
    return res


# ---------------------------------------------------------------- qemu-user (ppc64le)
QEMU_PPC = "qemu-ppc64le-static"
NOT_LOADS = {"li", "lis", "la", "lwsync", "lnia"}
TRACE_RE = re.compile(rb"^Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/")
INSN_RE = re.compile(rb"^0x([0-9a-f]+):\s")


def run_qemu(b: Built, data: bytes, lens: list[int], offset: int = 0, count: bool = True,
             work: Path | None = None) -> Counts:
    inp = job_bytes(offset, lens) + data
    res = Counts(b"", nbytes=len(data))
    if not count:
        p = subprocess.run([QEMU_PPC, str(b.elf)], input=inp, capture_output=True, timeout=120)
        if p.returncode:
            raise RuntimeError(f"qemu rc={p.returncode} {p.stderr[-500:]!r}")
        res.digest = p.stdout
        return res
    import capstone as cs
    log = Path(work or b.elf.parent) / "qemu.log"
    p = subprocess.run([QEMU_PPC, "-d", "in_asm,exec,nochain", "-D", str(log), str(b.elf)],
                       input=inp, capture_output=True, timeout=600)
    if p.returncode:
        raise RuntimeError(f"qemu rc={p.returncode} {p.stderr[-500:]!r}")
    res.digest = p.stdout
    dis = cs.Cs(cs.CS_ARCH_PPC, cs.CS_MODE_64 | cs.CS_MODE_LITTLE_ENDIAN)
    dis.skipdata = True
    with open(b.elf, "rb") as f:
        elf = ELFFile(f)
        text = elf.get_section_by_name(".text")
        tbase, tdata = text["sh_addr"], text.data()
    lo, hi = b.hash_range
    insn_cost: dict[int, tuple[int, int]] = {}
    for i in dis.disasm(tdata[lo - tbase:hi - tbase], lo):
        # By mnemonic: D-form (ld r,d(ra)) and X-form (ldbrx r,ra,rb) alike.
        mn = i.mnemonic.rstrip(".+-")
        ld = int(mn.startswith("l") and mn not in NOT_LOADS)
        st = int(mn.startswith("st"))
        insn_cost[i.address] = (ld, st)
    tbs: dict[int, tuple[int, int, int]] = {}
    cur: list[int] | None = None
    with open(log, "rb") as f:
        for line in f:
            m = TRACE_RE.match(line)
            if m:
                pc = int(m[1], 16)
                t = tbs.get(pc)
                if t is not None:
                    res.instructions += t[0]
                    res.loads += t[1]
                    res.stores += t[2]
                continue
            if line.startswith(b"IN:"):
                cur = []
                continue
            if cur is not None:
                m = INSN_RE.match(line)
                if m:
                    cur.append(int(m[1], 16))
                    continue
                if cur and lo <= cur[0] < hi:
                    costs = [insn_cost.get(a, (0, 0)) for a in cur]
                    tbs[cur[0]] = (len(cur), sum(c[0] for c in costs), sum(c[1] for c in costs))
                cur = None
    log.unlink()
    return res


def run_any(b: Built, data: bytes, lens: list[int], offset: int = 0, count: bool = True, **kw) -> Counts:
    assert sum(lens) == len(data), "regions must cover the message exactly"
    if b.arch == "ppc64le":
        return run_qemu(b, data, lens, offset, count, **kw)
    return run_unicorn(b, data, lens, offset, count, **kw)


# ---------------------------------------------------------------- host (x86_64 SHA-NI)
def build_host(impl: str, out_dir: Path) -> Path:
    """The x86_64 hash objects (purgatory flags) linked into a Linux program for the host."""
    t = target("x86_64")
    out = Path(out_dir) / f"host-{impl}"
    out.mkdir(parents=True, exist_ok=True)
    cache = Path(out_dir) / "zig-cache"
    flags = [f for f in _cflags(t) if f not in ("-ffreestanding", "-nostdlib", "-fno-builtin")]
    flags[1] = "x86_64-linux-musl"
    objs = []
    for src in [Path(p) for p in IMPLS[impl]] + [COMMON / "data.c"]:
        obj = out / f"{src.stem}.o"
        run([*DEFAULT.cc(), *flags, "-c", str(src), "-o", str(obj)], cache)
        objs.append(obj)
    exe = out / "host_hash"
    run([*DEFAULT.cc(), "-target", "x86_64-linux-musl", "-O2", f"-I{COMMON}", "-static",
         str(HERE / "host_main.c"), *map(str, objs), "-o", str(exe)], cache)
    return exe


def host_has_sha_ni() -> bool:
    try:
        return " sha_ni" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def run_host(exe: Path, data: bytes, reps: int = 0) -> tuple[bytes, float | None]:
    p = subprocess.run([str(exe)] + ([str(reps)] if reps else []), input=data,
                       capture_output=True, timeout=120, check=True)
    lines = p.stdout.decode().split()
    return bytes.fromhex(lines[0]), (float(lines[1]) if reps else None)


def arm64_hide_sha2(uc) -> None:
    """Make MRS ID_AA64ISAR0_EL1 read SHA2 (bits 15:12) = 0: the detection input of the arm64
    hardware path, patched at the instruction (every unicorn arm64 CPU model has SHA2)."""
    import unicorn as U
    from unicorn import arm64_const as A

    def on_mrs(uc_, reg, cp, _):
        if (cp.op0, cp.op1, cp.crn, cp.crm, cp.op2) != (3, 0, 0, 6, 0):
            return False
        uc_.reg_write(reg, 0)     # no AES/SHA1/SHA2/... advertised
        return True

    uc.hook_add(U.UC_HOOK_INSN, on_mrs, None, 1, 0, A.UC_ARM64_INS_MRS)


def static_loop(obj_or_elf: Path, symbol: str, arch: str = "x86_64") -> tuple[int, int, int]:
    """(instructions, loads, stores) of the innermost backward-branch loop of ``symbol``, from
    the disassembly: per-block cost of a hardware path that no emulator here can run."""
    import capstone as cs
    from capstone import x86 as cx
    with open(obj_or_elf, "rb") as f:
        elf = ELFFile(f)
        sym = next(s for s in elf.get_section_by_name(".symtab").iter_symbols() if s.name == symbol)
        sec = elf.get_section(sym["st_shndx"])
        code = sec.data()[sym["st_value"] - (sec["sh_addr"] if elf["e_type"] == "ET_EXEC" else 0):]
        code = code[:sym["st_size"]]
    dis = cs.Cs(cs.CS_ARCH_X86, cs.CS_MODE_64)
    dis.detail = True
    insns = list(dis.disasm(code, 0))
    loops = [(i.operands[0].imm, i.address) for i in insns
             if i.group(cs.CS_GRP_JUMP) and i.operands and i.operands[0].type == cx.X86_OP_IMM
             and i.operands[0].imm < i.address]
    start, end = max(loops, key=lambda t: t[1] - t[0])
    body = [i for i in insns if start <= i.address <= end]
    loads = stores = 0
    for i in body:
        if i.mnemonic.startswith("lea"):
            continue
        for op in i.operands:
            if op.type == cx.X86_OP_MEM:
                if op.access & cs.CS_AC_WRITE:
                    stores += 1
                if op.access & cs.CS_AC_READ:
                    loads += 1
    return len(body), loads, stores
