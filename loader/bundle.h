/*
 * Parser and validator of the .kxb bundle format (docs/bundle-format.md).
 *
 * Pure code: no system calls, no allocation, no global state other than the CRC table it
 * fills on first use. It reads a bundle that is already in memory, checks every rule of the
 * format plus the two facts about the running machine that matter (its `uname -m` and its
 * page size), and either fills a plan or returns a specific error with a one-line message.
 * All integers are read as little-endian whatever the host byte order (byte-swapped on
 * big-endian hosts).
 */
#ifndef KXB_BUNDLE_H
#define KXB_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#define KXB_HEADER_SIZE   64u
#define KXB_ENTRY_SIZE    96u
#define KXB_MAX_SEGMENTS  16u
#define KXB_NAME_SIZE     24u
#define KXB_CHECKSUM_OFF  48u

#define KXB_FLAG_VERIFY        1u   /* header flags */
#define KXB_SEG_PURGATORY      1u   /* segment flags */
#define KXB_SEG_VERIFIED       2u
#define KXB_SEG_SEEDS          4u   /* dtb with /chosen seeds the loader fills at load time */
#define KXB_MAX_FILLS          4u   /* seed property values recorded per SEEDS segment */

/*
 * KX_SEEDS (set by loader/build.py for arm64 and riscv64, the host test build and the fuzzer)
 * compiles the device-tree walker that finds the seed values of a SEEDS segment. Without it
 * a SEEDS segment is refused with KXB_E_NO_SEEDS.
 */

/* Error codes: one per rule, so tests and the fuzzer can tell which check fired.
 * KXB_E_WRONG_ARCH..KXB_E_NO_SEEDS: well formed, but not for this machine or loader. */
enum kxb_err {
	KXB_OK = 0,
	KXB_E_SHORT,            /* shorter than the header */
	KXB_E_MAGIC,
	KXB_E_VERSION,
	KXB_E_HEADER_SIZE,
	KXB_E_ENTRY_SIZE,
	KXB_E_FILE_SIZE,        /* header file_size != actual length */
	KXB_E_CHECKSUM,
	KXB_E_RESERVED,         /* reserved0/reserved1 not zero */
	KXB_E_FLAGS,            /* unknown header flag bits */
	KXB_E_NR_SEGMENTS,      /* 0 or > 16 */
	KXB_E_PAGE_SIZE,        /* not a power of two in 4 KiB..1 MiB */
	KXB_E_ARCH_CODE,        /* unknown arch code */
	KXB_E_TABLE,            /* segment table runs past the end of the file */
	KXB_E_SEG_NAME,         /* name not NUL-terminated */
	KXB_E_SEG_KIND,
	KXB_E_SEG_FLAGS,        /* unknown segment flag bits */
	KXB_E_SEG_MEMSZ_ZERO,
	KXB_E_SEG_MEM_ALIGN,    /* mem not a multiple of the bundle page size */
	KXB_E_SEG_MEMSZ_ALIGN,  /* memsz not a multiple of the bundle page size */
	KXB_E_SEG_MEM_WRAP,     /* mem + memsz overflows 64 bits */
	KXB_E_SEG_BUFSZ,        /* bufsz > memsz */
	KXB_E_SEG_OFF_ALIGN,    /* offset not a multiple of 16 */
	KXB_E_SEG_OFF_LOW,      /* offset inside the header or table */
	KXB_E_SEG_OFF_WRAP,     /* offset + bufsz overflows 64 bits */
	KXB_E_SEG_OFF_END,      /* offset + bufsz past the end of the file */
	KXB_E_SEG_ORDER,        /* not sorted by mem */
	KXB_E_SEG_OVERLAP,      /* memory ranges overlap */
	KXB_E_DATA_OVERLAP,     /* file data ranges overlap */
	KXB_E_NO_PURGATORY,
	KXB_E_MANY_PURGATORY,
	KXB_E_ENTRY,            /* entry not inside the purgatory segment */
	KXB_E_NOT_VERIFIED,     /* verify flag set but no segment VERIFIED */
	/* The bundle is well formed but not for this machine: */
	KXB_E_WRONG_ARCH,
	KXB_E_RUN_PAGE,         /* mem/memsz not aligned to the running page size */
	KXB_E_NO_SEEDS,         /* SEEDS segment, loader built without KX_SEEDS */
	/* Format errors only a KX_SEEDS build checks (last, so that other builds' message table
	 * stops at KXB_E_NO_SEEDS): */
	KXB_E_SEG_SEEDS_KIND,   /* SEEDS flag on a segment that is not a dtb */
	KXB_E_SEG_FDT,          /* SEEDS segment: malformed device tree or no seed property */
	KXB_E_COUNT
};

struct kxb_segment {
	uint64_t mem, memsz, offset, bufsz;
	uint32_t flags, kind;
	char name[KXB_NAME_SIZE];   /* always NUL-terminated (checked) */
	uint32_t name_len;
	/* SEEDS segments (KX_SEEDS builds): the values of /chosen/kaslr-seed and rng-seed,
	 * as offsets into the segment's data, to fill with random bytes. */
	uint32_t nr_fills;
	uint64_t fill_off[KXB_MAX_FILLS], fill_len[KXB_MAX_FILLS];
};

struct kxb_plan {
	uint32_t arch_code;
	const char *arch_name;       /* bundle spelling: ppc64le, ppc64, x86_64, arm64, riscv64 */
	const char *arch_uname;      /* `uname -m` spelling of that arch */
	unsigned long kexec_flags;   /* KEXEC_ARCH_* value for kexec_load */
	uint32_t flags;              /* header flags */
	uint64_t entry;
	uint64_t page_size;
	uint64_t file_size;
	uint32_t checksum;
	uint32_t nr_segments;
	uint32_t purgatory;          /* index of the purgatory segment */
	struct kxb_segment seg[KXB_MAX_SEGMENTS];
};

/*
 * Validate the bundle at data[0..len) for a machine whose `uname -m` is `machine` and whose
 * page size is `run_page` (0: skip that check). On success fills *plan and returns KXB_OK;
 * otherwise returns the error and writes a one-line reason (no path, no newline) to msg.
 * Format errors are always reported before machine errors (KXB_E_WRONG_ARCH, KXB_E_RUN_PAGE).
 */
enum kxb_err kxb_parse(const unsigned char *data, size_t len, uint64_t run_page,
		       const char *machine, struct kxb_plan *plan, char *msg, size_t msg_cap);

/* CRC-32 (IEEE, zlib's crc32): crc = kxb_crc32(crc, p, n), starting from 0. */
uint32_t kxb_crc32(uint32_t crc, const unsigned char *p, size_t n);

/* Name of a segment kind ("raw", "kernel", ... as toolchain.bundle.Kind lower-cased) or NULL. */
const char *kxb_kind_name(uint32_t kind);

/* Arch table lookups; return 0 when unknown. */
unsigned long kxb_kexec_flags_for_machine(const char *machine);

#endif
