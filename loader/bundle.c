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

/* memcpy of a constant size compiles to one load; big-endian hosts byte-swap it. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define FROM_LE16(v) __builtin_bswap16(v)
#define FROM_LE32(v) __builtin_bswap32(v)
#define FROM_LE64(v) __builtin_bswap64(v)
#else
#define FROM_LE16(v) (v)
#define FROM_LE32(v) (v)
#define FROM_LE64(v) (v)
#endif

static uint32_t le16(const unsigned char *p)
{
	uint16_t v;

	__builtin_memcpy(&v, p, sizeof(v));
	return FROM_LE16(v);
}

static uint32_t le32(const unsigned char *p)
{
	uint32_t v;

	__builtin_memcpy(&v, p, sizeof(v));
	return FROM_LE32(v);
}

static uint64_t le64(const unsigned char *p)
{
	uint64_t v;

	__builtin_memcpy(&v, p, sizeof(v));
	return FROM_LE64(v);
}

/* ---- error messages: one format per error code (directives as in fmt.h) ---- */

static const char *const messages[] = {
	[KXB_OK] = "ok",
	[KXB_E_SHORT] = "file is %d bytes, shorter than the header",
	[KXB_E_MAGIC] = "bad magic: not a .kxb bundle",
	[KXB_E_VERSION] = "unsupported version %d (expected 1)",
	[KXB_E_HEADER_SIZE] = "header_size is %d, expected 64",
	[KXB_E_ENTRY_SIZE] = "entry_size is %d, expected 96",
	[KXB_E_FILE_SIZE] = "header file_size %d but the file has %d bytes (truncated?)",
	[KXB_E_CHECKSUM] = "checksum mismatch (header %x, computed %x)",
	[KXB_E_RESERVED] = "reserved header fields are not zero",
	[KXB_E_FLAGS] = "unknown header flags %x",
	[KXB_E_NR_SEGMENTS] = "%d segments; kexec_load takes 1..16",
	[KXB_E_PAGE_SIZE] = "page size %x is not a power of two in 4 KiB..1 MiB",
	[KXB_E_ARCH_CODE] = "unknown arch code %d",
	[KXB_E_TABLE] = "segment table past end of file",
	[KXB_E_SEG_NAME] = "%gname is not NUL-terminated",
	[KXB_E_SEG_KIND] = "%gunknown kind %d",
	[KXB_E_SEG_FLAGS] = "%gunknown flags %x",
	[KXB_E_SEG_MEMSZ_ZERO] = "%gmemsz is zero",
	[KXB_E_SEG_MEM_ALIGN] = "%gmem %x not aligned to bundle page size %x",
	[KXB_E_SEG_MEMSZ_ALIGN] = "%gmemsz %x not aligned to bundle page size %x",
	[KXB_E_SEG_MEM_WRAP] = "%gmem %x + memsz %x overflows 64 bits",
	[KXB_E_SEG_BUFSZ] = "%gbufsz %x > memsz %x",
	[KXB_E_SEG_OFF_ALIGN] = "%gdata offset %x not a multiple of 16",
	[KXB_E_SEG_OFF_LOW] = "%gdata offset %x inside header/table",
	[KXB_E_SEG_OFF_WRAP] = "%gdata offset %x + bufsz %x overflows 64 bits",
	[KXB_E_SEG_OFF_END] = "%gdata offset %x + bufsz %x past end of file",
	[KXB_E_SEG_ORDER] = "%gmem %x below previous segment (not sorted)",
	[KXB_E_SEG_OVERLAP] = "%gmem %x overlaps previous segment (ends %x)",
	[KXB_E_DATA_OVERLAP] = "%gdata overlaps data of segment %d",
	[KXB_E_NO_PURGATORY] = "no segment is flagged PURGATORY",
	[KXB_E_MANY_PURGATORY] = "%d segments flagged PURGATORY, need one",
	[KXB_E_ENTRY] = "entry %x not inside purgatory segment %d",
	[KXB_E_NOT_VERIFIED] = "verify flag set but no segment VERIFIED",
	[KXB_E_WRONG_ARCH] = "bundle is for %s (uname -m %s) but this machine is %e",
	[KXB_E_RUN_PAGE] = "%gmem %x/memsz %x not aligned to running page size %x",
	[KXB_E_NO_SEEDS] = "%gthis loader cannot fill load-time seeds",
#ifdef KX_SEEDS
	[KXB_E_SEG_SEEDS_KIND] = "%gSEEDS flag on kind %d, not dtb",
	[KXB_E_SEG_FDT] = "%gdevice tree for load-time seeds: %s (at %x)",
#endif
};

struct ctx {
	struct kx_buf msg;
};

static enum kxb_err fail(struct ctx *c, enum kxb_err e, ...)
{
	va_list ap;

	va_start(ap, e);
	kx_vfmt(&c->msg, messages[e], ap);
	va_end(ap);
	return e;
}

#define U KX_U

#ifdef KX_SEEDS
/* ---- the seed finder: a minimal, bounds-checked walk of a flattened device tree ---- */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The NUL-terminated string at p (which must end before end) equals want. */
static int str_is(const unsigned char *p, const unsigned char *end, const char *want)
{
	while (p < end && *want && *p == (unsigned char)*want) {
		p++;
		want++;
	}
	return p < end && !*want && !*p;
}

/*
 * Record in s the values of the properties kaslr-seed and rng-seed of the top-level node
 * "chosen" of the tree dt[0..len). Returns NULL, or the reason the tree is refused with
 * *where the offending offset. Every read is checked against the header's blocks, and the
 * blocks against len; the walk ends at FDT_END with every node closed.
 */
static const char *fdt_seeds(const unsigned char *dt, uint64_t len, struct kxb_segment *s,
			     uint64_t *where)
{
	uint64_t total, str, strsz, pos, end, n;
	uint32_t depth = 0, roots = 0, chosen = 0;

	*where = 0;
	s->nr_fills = 0;
	if (len < 40 || be32(dt) != 0xd00dfeedu)
		return "bad magic";
	total = be32(dt + 4);
	pos = be32(dt + 8);       /* off_dt_struct */
	str = be32(dt + 12);      /* off_dt_strings */
	strsz = be32(dt + 32);
	end = pos + be32(dt + 36);  /* + size_dt_struct; all < 2^33, no overflow */
	if (total > len || be32(dt + 20) < 17 || (pos & 3) || end > total || str + strsz > total)
		return "bad header";
	for (;;) {
		uint32_t tag;

		*where = pos;
		if (end - pos < 4)
			return "no FDT_END";
		tag = be32(dt + pos);
		pos += 4;
		if (tag == 1) {                 /* FDT_BEGIN_NODE, NUL-terminated name */
			if (depth == 0 && roots++)
				return "second root node";
			for (n = pos; n < end && dt[n]; n++)
				;
			if (n == end)
				return "unterminated node name";
			if (depth == 1)         /* a top-level node: is it /chosen? */
				chosen = str_is(dt + pos, dt + end, "chosen");
			depth++;
			pos = (n + 4) & ~(uint64_t)3;
		} else if (tag == 2) {          /* FDT_END_NODE */
			if (depth == 0)
				return "unbalanced FDT_END_NODE";
			if (--depth == 1)
				chosen = 0;
		} else if (tag == 3) {          /* FDT_PROP: len, nameoff, value */
			uint64_t plen, nameoff;

			if (end - pos < 8 || depth == 0)
				return "bad property";
			plen = be32(dt + pos);
			nameoff = be32(dt + pos + 4);
			pos += 8;
			if (plen > end - pos || nameoff >= strsz)
				return "bad property";
			if (chosen && depth == 2 &&
			    (str_is(dt + str + nameoff, dt + str + strsz, "kaslr-seed") ||
			     str_is(dt + str + nameoff, dt + str + strsz, "rng-seed"))) {
				if (s->nr_fills == KXB_MAX_FILLS)
					return "too many seed properties";
				s->fill_off[s->nr_fills] = pos;
				s->fill_len[s->nr_fills++] = plen;
			}
			pos = (pos + plen + 3) & ~(uint64_t)3;
		} else if (tag == 9) {          /* FDT_END */
			if (depth || !roots)
				return "FDT_END inside a node";
			return s->nr_fills ? 0 : "no /chosen/kaslr-seed or rng-seed";
		} else if (tag != 4) {          /* FDT_NOP */
			return "unknown token";
		}
		if (pos > end)
			return "runs past the structure block";
	}
}
#endif

static enum kxb_err parse(const unsigned char *d, size_t len, uint64_t run_page,
			  const char *machine, struct kxb_plan *plan, struct ctx *c)
{
	static const unsigned char zero[4];
	const struct arch_info *arch = 0;
	const struct kxb_segment *p;
	uint32_t v32, nseg, i, j, npurg = 0, nverified = 0;
	uint64_t file_size, page, table_end;
	uint32_t crc, stored;
	size_t k;

	if (len < KXB_HEADER_SIZE)
		return fail(c, KXB_E_SHORT, U(len));
	for (k = 0; k < sizeof(kxb_magic); k++)
		if (d[k] != kxb_magic[k])
			return fail(c, KXB_E_MAGIC);
	if ((v32 = le16(d + 8)) != 1)
		return fail(c, KXB_E_VERSION, U(v32));
	if ((v32 = le16(d + 10)) != KXB_HEADER_SIZE)
		return fail(c, KXB_E_HEADER_SIZE, U(v32));
	if ((v32 = le16(d + 12)) != KXB_ENTRY_SIZE)
		return fail(c, KXB_E_ENTRY_SIZE, U(v32));
	file_size = le64(d + 40);
	if (file_size != (uint64_t)len)
		return fail(c, KXB_E_FILE_SIZE, file_size, U(len));
	stored = le32(d + KXB_CHECKSUM_OFF);
	crc = kxb_crc32(0, d, KXB_CHECKSUM_OFF);
	crc = kxb_crc32(crc, zero, 4);
	crc = kxb_crc32(crc, d + KXB_CHECKSUM_OFF + 4, len - KXB_CHECKSUM_OFF - 4);
	if (crc != stored)
		return fail(c, KXB_E_CHECKSUM, U(stored), U(crc));
	if (le32(d + 52) != 0 || le64(d + 56) != 0)
		return fail(c, KXB_E_RESERVED);
	plan->flags = le32(d + 20);
	if (plan->flags & ~KXB_FLAG_VERIFY)
		return fail(c, KXB_E_FLAGS, U(plan->flags));
	nseg = le16(d + 14);
	if (nseg < 1 || nseg > KXB_MAX_SEGMENTS)
		return fail(c, KXB_E_NR_SEGMENTS, U(nseg));
	page = le64(d + 32);
	if ((page & (page - 1)) || page < 0x1000 || page > 0x100000)
		return fail(c, KXB_E_PAGE_SIZE, page);
	plan->arch_code = le32(d + 16);
	for (k = 0; k < NR_ARCHES; k++)
		if (arches[k].code == plan->arch_code)
			arch = &arches[k];
	if (!arch)
		return fail(c, KXB_E_ARCH_CODE, U(plan->arch_code));
	table_end = KXB_HEADER_SIZE + (uint64_t)nseg * KXB_ENTRY_SIZE;  /* <= 1600, no overflow */
	if (table_end > file_size)
		return fail(c, KXB_E_TABLE);

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
		if (k == KXB_NAME_SIZE)
			return fail(c, KXB_E_SEG_NAME, U(i));
		s->name_len = (uint32_t)k;
		for (; k < KXB_NAME_SIZE; k++)
			s->name[k] = '\0';
		if (!kxb_kind_name(s->kind))
			return fail(c, KXB_E_SEG_KIND, U(i), U(s->kind));
		if (s->flags & ~(uint32_t)(KXB_SEG_PURGATORY | KXB_SEG_VERIFIED | KXB_SEG_SEEDS))
			return fail(c, KXB_E_SEG_FLAGS, U(i), U(s->flags));
#ifdef KX_SEEDS
		/* (without KX_SEEDS every SEEDS segment is refused below, KXB_E_NO_SEEDS) */
		if ((s->flags & KXB_SEG_SEEDS) && s->kind != 3)
			return fail(c, KXB_E_SEG_SEEDS_KIND, U(i), U(s->kind));
		s->nr_fills = 0;
#endif
		if (s->memsz == 0)
			return fail(c, KXB_E_SEG_MEMSZ_ZERO, U(i));
		if (s->mem & (page - 1))
			return fail(c, KXB_E_SEG_MEM_ALIGN, U(i), s->mem, page);
		if (s->memsz & (page - 1))
			return fail(c, KXB_E_SEG_MEMSZ_ALIGN, U(i), s->memsz, page);
		/* mem + memsz must fit in 64 bits (an end of exactly 2^64 does not). */
		if (s->memsz > UINT64_MAX - s->mem)
			return fail(c, KXB_E_SEG_MEM_WRAP, U(i), s->mem, s->memsz);
		if (s->bufsz > s->memsz)
			return fail(c, KXB_E_SEG_BUFSZ, U(i), s->bufsz, s->memsz);
		if (s->offset & 15)
			return fail(c, KXB_E_SEG_OFF_ALIGN, U(i), s->offset);
		if (s->offset < table_end)
			return fail(c, KXB_E_SEG_OFF_LOW, U(i), s->offset);
		if (s->bufsz > UINT64_MAX - s->offset)
			return fail(c, KXB_E_SEG_OFF_WRAP, U(i), s->offset, s->bufsz);
		if (s->offset + s->bufsz > file_size)
			return fail(c, KXB_E_SEG_OFF_END, U(i), s->offset, s->bufsz);
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
			return fail(c, KXB_E_SEG_ORDER, U(i), b->mem);
		if (a->mem + a->memsz > b->mem)
			return fail(c, KXB_E_SEG_OVERLAP, U(i), b->mem, a->mem + a->memsz);
	}
	for (i = 0; i < nseg; i++)
		for (j = i + 1; j < nseg; j++) {
			const struct kxb_segment *a = &plan->seg[i], *b = &plan->seg[j];

			if (a->bufsz && b->bufsz && a->offset < b->offset + b->bufsz &&
			    b->offset < a->offset + a->bufsz)
				return fail(c, KXB_E_DATA_OVERLAP, U(j), U(i));
		}
	if (npurg == 0)
		return fail(c, KXB_E_NO_PURGATORY);
	if (npurg > 1)
		return fail(c, KXB_E_MANY_PURGATORY, U(npurg));
	p = &plan->seg[plan->purgatory];
	if (plan->entry < p->mem || plan->entry - p->mem >= p->memsz)
		return fail(c, KXB_E_ENTRY, plan->entry, U(plan->purgatory));
	if ((plan->flags & KXB_FLAG_VERIFY) && nverified == 0)
		return fail(c, KXB_E_NOT_VERIFIED);
#ifdef KX_SEEDS
	for (i = 0; i < nseg; i++) {
		struct kxb_segment *s = &plan->seg[i];
		const char *why;
		uint64_t where;

		if ((s->flags & KXB_SEG_SEEDS) &&
		    (why = fdt_seeds(d + s->offset, s->bufsz, s, &where)) != 0)
			return fail(c, KXB_E_SEG_FDT, U(i), why, where);
	}
#endif

	/* The bundle is valid; now: is it for this machine? */
	if (!streq(arch->uname, machine))
		return fail(c, KXB_E_WRONG_ARCH, arch->name, arch->uname, machine);
	for (i = 0; i < nseg; i++) {
		const struct kxb_segment *s = &plan->seg[i];

		if (run_page && (s->mem % run_page || s->memsz % run_page))
			return fail(c, KXB_E_RUN_PAGE, U(i), s->mem, s->memsz, run_page);
#ifndef KX_SEEDS
		if (s->flags & KXB_SEG_SEEDS)
			return fail(c, KXB_E_NO_SEEDS, U(i));
#endif
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
		fail(&c, KXB_OK);
	return e;
}
