/* .kxb parser and validator; see bundle.h and docs/bundle-format.md. No system calls. */
#include "bundle.h"
#include "fmt.h"

static const unsigned char kxb_magic[8] = { 'K', 'X', 'B', 'U', 'N', 'D', 'L', 0x1a };

struct arch_info {
	uint32_t code;
	const char *name;
	const char *uname;
	unsigned long kexec_flags;
};

static const struct arch_info arches[] = {
	{ 1, "ppc64le", "ppc64le", 21ul << 16 },
	{ 2, "ppc64",   "ppc64",   21ul << 16 },
	{ 3, "x86_64",  "x86_64",  62ul << 16 },
	{ 4, "arm64",   "aarch64", 183ul << 16 },
	{ 5, "riscv64", "riscv64", 243ul << 16 },
};
#define NR_ARCHES (sizeof(arches) / sizeof(arches[0]))

static const char *const kind_names[] = {
	"raw", "kernel", "initrd", "dtb", "cmdline", "purgatory", "boot_params",
};

const char *kxb_kind_name(uint32_t kind)
{
	return kind < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[kind] : 0;
}

static int streq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

unsigned long kxb_kexec_flags_for_machine(const char *machine)
{
	size_t i;

	for (i = 0; i < NR_ARCHES; i++)
		if (streq(arches[i].uname, machine))
			return arches[i].kexec_flags;
	return 0;
}

/* ---- CRC-32, reflected polynomial 0xedb88320, table built on first use ---- */

static uint32_t crc_table[256];
static int crc_ready;

static void crc_init(void)
{
	uint32_t i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
	crc_ready = 1;
}

uint32_t kxb_crc32(uint32_t crc, const unsigned char *p, size_t n)
{
	if (!crc_ready)
		crc_init();
	crc = ~crc;
	while (n--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ---- little-endian readers (independent of host byte order) ---- */

static uint32_t le16(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* ---- error reporting helpers ---- */

struct ctx {
	struct kx_buf msg;
};

static enum kxb_err fail(struct ctx *c, enum kxb_err e, const char *text)
{
	kx_put_str(&c->msg, text);
	return e;
}

static void seg_label(struct ctx *c, uint32_t i)
{
	kx_put_str(&c->msg, "segment ");
	kx_put_dec(&c->msg, i);
	kx_put_str(&c->msg, ": ");
}

/* "<label><what> 0x<v> <rest>" */
static enum kxb_err seg_fail(struct ctx *c, enum kxb_err e, uint32_t i, const char *what,
			     uint64_t v, const char *rest)
{
	seg_label(c, i);
	kx_put_str(&c->msg, what);
	kx_put_hex(&c->msg, v);
	kx_put_str(&c->msg, rest);
	return e;
}

static enum kxb_err parse(const unsigned char *d, size_t len, uint64_t run_page,
			  const char *machine, struct kxb_plan *plan, struct ctx *c)
{
	const struct arch_info *arch = 0;
	uint32_t version, hsize, esize, nseg, i, j, npurg = 0, nverified = 0;
	uint64_t file_size, page, table_end, v;
	uint32_t crc, stored;
	size_t k;

	if (len < KXB_HEADER_SIZE) {
		kx_put_str(&c->msg, "file is ");
		kx_put_dec(&c->msg, len);
		return fail(c, KXB_E_SHORT, " bytes, shorter than the 64-byte header");
	}
	for (k = 0; k < sizeof(kxb_magic); k++)
		if (d[k] != kxb_magic[k])
			return fail(c, KXB_E_MAGIC, "bad magic: not a .kxb bundle");
	version = le16(d + 8);
	if (version != 1) {
		kx_put_str(&c->msg, "unsupported version ");
		kx_put_dec(&c->msg, version);
		return fail(c, KXB_E_VERSION, " (this loader knows version 1)");
	}
	hsize = le16(d + 10);
	if (hsize != KXB_HEADER_SIZE) {
		kx_put_str(&c->msg, "header_size is ");
		kx_put_dec(&c->msg, hsize);
		return fail(c, KXB_E_HEADER_SIZE, ", expected 64");
	}
	esize = le16(d + 12);
	if (esize != KXB_ENTRY_SIZE) {
		kx_put_str(&c->msg, "entry_size is ");
		kx_put_dec(&c->msg, esize);
		return fail(c, KXB_E_ENTRY_SIZE, ", expected 96");
	}
	file_size = le64(d + 40);
	if (file_size != (uint64_t)len) {
		kx_put_str(&c->msg, "header says the file is ");
		kx_put_dec(&c->msg, file_size);
		kx_put_str(&c->msg, " bytes but it has ");
		kx_put_dec(&c->msg, len);
		return fail(c, KXB_E_FILE_SIZE, " (truncated or padded?)");
	}
	stored = le32(d + KXB_CHECKSUM_OFF);
	{
		static const unsigned char zero[4];

		crc = kxb_crc32(0, d, KXB_CHECKSUM_OFF);
		crc = kxb_crc32(crc, zero, 4);
		crc = kxb_crc32(crc, d + KXB_CHECKSUM_OFF + 4, len - KXB_CHECKSUM_OFF - 4);
	}
	if (crc != stored) {
		kx_put_str(&c->msg, "checksum mismatch (header ");
		kx_put_hex(&c->msg, stored);
		kx_put_str(&c->msg, ", computed ");
		kx_put_hex(&c->msg, crc);
		return fail(c, KXB_E_CHECKSUM, ")");
	}
	if (le32(d + 52) != 0 || le64(d + 56) != 0)
		return fail(c, KXB_E_RESERVED, "reserved header fields are not zero");
	plan->flags = le32(d + 20);
	if (plan->flags & ~KXB_FLAG_VERIFY) {
		kx_put_str(&c->msg, "unknown header flags ");
		kx_put_hex(&c->msg, plan->flags);
		return fail(c, KXB_E_FLAGS, " (only bit 0, verify, is defined)");
	}
	nseg = le16(d + 14);
	if (nseg < 1 || nseg > KXB_MAX_SEGMENTS) {
		kx_put_dec(&c->msg, nseg);
		return fail(c, KXB_E_NR_SEGMENTS, " segments; kexec_load takes 1..16");
	}
	page = le64(d + 32);
	if ((page & (page - 1)) || page < 0x1000 || page > 0x100000) {
		kx_put_str(&c->msg, "page size ");
		kx_put_hex(&c->msg, page);
		return fail(c, KXB_E_PAGE_SIZE, " is not a power of two in 4 KiB..1 MiB");
	}
	plan->arch_code = le32(d + 16);
	for (k = 0; k < NR_ARCHES; k++)
		if (arches[k].code == plan->arch_code)
			arch = &arches[k];
	if (!arch) {
		kx_put_str(&c->msg, "unknown arch code ");
		kx_put_dec(&c->msg, plan->arch_code);
		return fail(c, KXB_E_ARCH_CODE, "");
	}
	table_end = KXB_HEADER_SIZE + (uint64_t)nseg * KXB_ENTRY_SIZE;  /* <= 1600, no overflow */
	if (table_end > file_size)
		return fail(c, KXB_E_TABLE, "segment table runs past the end of the file");

	plan->arch_name = arch->name;
	plan->arch_uname = arch->uname;
	plan->kexec_flags = arch->kexec_flags;
	plan->entry = le64(d + 24);
	plan->page_size = page;
	plan->file_size = file_size;
	plan->checksum = stored;
	plan->nr_segments = nseg;
	plan->purgatory = 0;

	for (i = 0; i < nseg; i++) {
		const unsigned char *e = d + KXB_HEADER_SIZE + (size_t)i * KXB_ENTRY_SIZE;
		struct kxb_segment *s = &plan->seg[i];

		s->mem = le64(e);
		s->memsz = le64(e + 8);
		s->offset = le64(e + 16);
		s->bufsz = le64(e + 24);
		s->flags = le32(e + 32);
		s->kind = le32(e + 36);
		for (k = 0; k < KXB_NAME_SIZE && e[72 + k]; k++)
			s->name[k] = (char)e[72 + k];
		if (k == KXB_NAME_SIZE) {
			seg_label(c, i);
			return fail(c, KXB_E_SEG_NAME, "name is not NUL-terminated");
		}
		s->name_len = (uint32_t)k;
		for (; k < KXB_NAME_SIZE; k++)
			s->name[k] = '\0';
		if (!kxb_kind_name(s->kind)) {
			seg_label(c, i);
			kx_put_str(&c->msg, "unknown kind ");
			kx_put_dec(&c->msg, s->kind);
			return KXB_E_SEG_KIND;
		}
		if (s->flags & ~(uint32_t)(KXB_SEG_PURGATORY | KXB_SEG_VERIFIED))
			return seg_fail(c, KXB_E_SEG_FLAGS, i, "unknown flags ", s->flags,
					" (only PURGATORY and VERIFIED are defined)");
		if (s->memsz == 0) {
			seg_label(c, i);
			return fail(c, KXB_E_SEG_MEMSZ_ZERO, "memsz is zero");
		}
		if (s->mem & (page - 1))
			return seg_fail(c, KXB_E_SEG_MEM_ALIGN, i, "mem ", s->mem,
					" is not aligned to the bundle page size");
		if (s->memsz & (page - 1))
			return seg_fail(c, KXB_E_SEG_MEMSZ_ALIGN, i, "memsz ", s->memsz,
					" is not aligned to the bundle page size");
		/* mem + memsz must fit in 64 bits (an end of exactly 2^64 does not). */
		if (s->memsz > UINT64_MAX - s->mem)
			return seg_fail(c, KXB_E_SEG_MEM_WRAP, i, "mem ", s->mem,
					" + memsz overflows 64 bits");
		if (s->bufsz > s->memsz)
			return seg_fail(c, KXB_E_SEG_BUFSZ, i, "bufsz ", s->bufsz, " is larger than memsz");
		if (s->offset & 15)
			return seg_fail(c, KXB_E_SEG_OFF_ALIGN, i, "data offset ", s->offset,
					" is not a multiple of 16");
		if (s->offset < table_end)
			return seg_fail(c, KXB_E_SEG_OFF_LOW, i, "data offset ", s->offset,
					" is inside the header or segment table");
		if (s->bufsz > UINT64_MAX - s->offset)
			return seg_fail(c, KXB_E_SEG_OFF_WRAP, i, "data offset ", s->offset,
					" + bufsz overflows 64 bits");
		if (s->offset + s->bufsz > file_size)
			return seg_fail(c, KXB_E_SEG_OFF_END, i, "data end ", s->offset + s->bufsz,
					" is past the end of the file");
		if (s->flags & KXB_SEG_PURGATORY) {
			npurg++;
			plan->purgatory = i;
		}
		if (s->flags & KXB_SEG_VERIFIED)
			nverified++;
	}
	for (i = 1; i < nseg; i++) {
		const struct kxb_segment *a = &plan->seg[i - 1], *b = &plan->seg[i];

		if (b->mem < a->mem)
			return seg_fail(c, KXB_E_SEG_ORDER, i, "mem ", b->mem,
					" is below the previous segment's (not sorted by address)");
		if (a->mem + a->memsz > b->mem)
			return seg_fail(c, KXB_E_SEG_OVERLAP, i, "mem ", b->mem,
					" overlaps the previous segment");
	}
	for (i = 0; i < nseg; i++)
		for (j = i + 1; j < nseg; j++) {
			const struct kxb_segment *a = &plan->seg[i], *b = &plan->seg[j];

			if (a->bufsz && b->bufsz && a->offset < b->offset + b->bufsz &&
			    b->offset < a->offset + a->bufsz) {
				seg_label(c, j);
				kx_put_str(&c->msg, "data overlaps the data of segment ");
				kx_put_dec(&c->msg, i);
				return KXB_E_DATA_OVERLAP;
			}
		}
	if (npurg == 0)
		return fail(c, KXB_E_NO_PURGATORY, "no segment is flagged PURGATORY");
	if (npurg > 1) {
		kx_put_dec(&c->msg, npurg);
		return fail(c, KXB_E_MANY_PURGATORY, " segments are flagged PURGATORY; exactly one is required");
	}
	v = plan->entry;
	{
		const struct kxb_segment *p = &plan->seg[plan->purgatory];

		if (v < p->mem || v - p->mem >= p->memsz) {
			kx_put_str(&c->msg, "entry ");
			kx_put_hex(&c->msg, v);
			kx_put_str(&c->msg, " is not inside the purgatory segment ");
			kx_put_dec(&c->msg, plan->purgatory);
			return KXB_E_ENTRY;
		}
	}
	if ((plan->flags & KXB_FLAG_VERIFY) && nverified == 0)
		return fail(c, KXB_E_NOT_VERIFIED, "verify flag is set but no segment is flagged VERIFIED");

	/* The bundle is valid; now: is it for this machine? */
	if (!streq(arch->uname, machine)) {
		kx_put_str(&c->msg, "bundle is for ");
		kx_put_str(&c->msg, arch->name);
		kx_put_str(&c->msg, " (uname -m ");
		kx_put_str(&c->msg, arch->uname);
		kx_put_str(&c->msg, ") but this machine is ");
		for (k = 0; k < 64 && machine[k]; k++)
			;
		kx_put_escaped(&c->msg, machine, k);
		return KXB_E_WRONG_ARCH;
	}
	if (run_page)
		for (i = 0; i < nseg; i++) {
			const struct kxb_segment *s = &plan->seg[i];

			if (s->mem % run_page || s->memsz % run_page) {
				seg_label(c, i);
				kx_put_str(&c->msg, "mem ");
				kx_put_hex(&c->msg, s->mem);
				kx_put_str(&c->msg, "/memsz ");
				kx_put_hex(&c->msg, s->memsz);
				kx_put_str(&c->msg, " is not aligned to this machine's page size ");
				kx_put_hex(&c->msg, run_page);
				return KXB_E_RUN_PAGE;
			}
		}
	return KXB_OK;
}

enum kxb_err kxb_parse(const unsigned char *data, size_t len, uint64_t run_page,
		       const char *machine, struct kxb_plan *plan, char *msg, size_t msg_cap)
{
	struct ctx c;
	enum kxb_err e;

	kx_buf_init(&c.msg, msg, msg_cap);
	e = parse(data, len, run_page, machine ? machine : "", plan, &c);
	if (e == KXB_OK)
		kx_put_str(&c.msg, "ok");
	return e;
}
