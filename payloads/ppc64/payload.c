/*
 * The test payload's C part: report how it was entered on the pseries console, then spin.
 *
 *   KXPAYLOAD r3=0x<r3> r4=0x<r4> r5=0x<r5> cpu=<boot_cpuid_phys> endian=<be|le>
 *   KXPAYLOAD bootargs=<the /chosen/bootargs string>
 *   KXPAYLOAD initrd=0x<start>-0x<end>         (only if both properties exist)
 *   KXPAYLOAD done
 *
 * endian= is the byte order the payload was entered in (be: through the endian switch).
 * If r3 does not point at a flattened device tree (magic 0xd00dfeed), cpu=none is printed
 * and the bootargs/initrd lines are replaced by "KXPAYLOAD no-fdt".
 *
 * Position-independent: only TOC-relative data (r2 is derived from the PC in payload.S)
 * and no initialised pointers.
 */
typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;

void kxp_main(u64 r3, u64 r4, u64 r5, u64 entered_be) __attribute__((noreturn));

#define H_PUT_TERM_CHAR 0x58

#define FDT_MAGIC 0xd00dfeedu
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE 2
#define FDT_PROP 3
#define FDT_NOP 4
#define FDT_END 9

static char line[16];
static u32 used;

static void flush(void)
{
	register u64 r3 __asm__("r3") = H_PUT_TERM_CHAR;
	register u64 r4 __asm__("r4") = 0;
	register u64 r5 __asm__("r5") = used;
	register u64 r6 __asm__("r6") = 0;
	register u64 r7 __asm__("r7") = 0;
	u32 i;

	if (!used)
		return;
	for (i = 0; i < used; i++) {
		u64 b = (u8)line[i];

		if (i < 8)
			r6 |= b << (56 - 8 * i);
		else
			r7 |= b << (56 - 8 * (i - 8));
	}
	__asm__ volatile("sc 1"
			 : "+r"(r3), "+r"(r4), "+r"(r5), "+r"(r6), "+r"(r7)
			 :
			 : "r0", "r8", "r9", "r10", "r11", "r12", "cr0", "ctr", "memory");
	used = 0;
}

static __attribute__((noinline)) void putc(char c)
{
	line[used++] = c;
	if (c == '\n' || used == sizeof(line))
		flush();
}

static __attribute__((noinline)) void puts(const char *s)
{
	while (*s)
		putc(*s++);
}

static void puthex(u64 v)
{
	int shift = 60;

	puts("0x");
	while (shift > 0 && !((v >> shift) & 15))
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		putc("0123456789abcdef"[(v >> shift) & 15]);
}

static void putdec(u64 v)
{
	char buf[21];
	int i = sizeof(buf) - 1;

	buf[i] = 0;
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	puts(&buf[i]);
}

static u32 be32(const u8 *p)
{
	return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}

static int streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* A node name matches "chosen" or "chosen@<unit>". */
static int is_chosen(const char *name)
{
	const char *want = "chosen";

	while (*want && *name == *want)
		name++, want++;
	return !*want && (!*name || *name == '@');
}

static u64 cell_value(const u8 *p, u32 len)
{
	return len == 8 ? (u64)be32(p) << 32 | be32(p + 4) : len == 4 ? be32(p) : 0;
}

struct chosen {
	const char *bootargs;
	u32 bootargs_len;
	u64 initrd_start, initrd_end;
	int has_start, has_end;
};

/* Walk the structure block; collect the properties of /chosen. Bounded by the header. */
static void scan_chosen(const u8 *fdt, struct chosen *c)
{
	const u8 *p = fdt + be32(fdt + 8);
	const u8 *end = p + be32(fdt + 36);
	const char *strings = (const char *)fdt + be32(fdt + 12);
	int depth = 0, in_chosen = 0;

	if (be32(fdt + 20) < 17)	/* size_dt_struct only exists from version 17 */
		end = fdt + be32(fdt + 4);
	while (p + 4 <= end) {
		u32 tok = be32(p);

		p += 4;
		if (tok == FDT_BEGIN_NODE) {
			const char *name = (const char *)p;

			while (p < end && *p)
				p++;
			p = (const u8 *)(((unsigned long)p + 4) & ~3ul);
			depth++;
			in_chosen = depth == 2 && is_chosen(name);
		} else if (tok == FDT_END_NODE) {
			depth--;
			in_chosen = 0;
		} else if (tok == FDT_PROP) {
			u32 len = be32(p);
			const char *name = strings + be32(p + 4);
			const u8 *val = p + 8;

			p = val + ((len + 3) & ~3u);
			if (!in_chosen)
				continue;
			if (streq(name, "bootargs")) {
				c->bootargs = (const char *)val;
				c->bootargs_len = len;
			} else if (streq(name, "linux,initrd-start")) {
				c->initrd_start = cell_value(val, len);
				c->has_start = 1;
			} else if (streq(name, "linux,initrd-end")) {
				c->initrd_end = cell_value(val, len);
				c->has_end = 1;
			}
		} else if (tok != FDT_NOP) {
			break;	/* FDT_END or garbage */
		}
	}
}

void kxp_main(u64 r3, u64 r4, u64 r5, u64 entered_be)
{
	const u8 *fdt = (const u8 *)r3;
	int valid = be32(fdt) == FDT_MAGIC;

	puts("KXPAYLOAD r3=");
	puthex(r3);
	puts(" r4=");
	puthex(r4);
	puts(" r5=");
	puthex(r5);
	puts(" cpu=");
	if (valid && be32(fdt + 20) >= 2)
		putdec(be32(fdt + 28));
	else
		puts("none");
	puts(entered_be ? " endian=be\n" : " endian=le\n");

	if (valid) {
		struct chosen c = {0, 0, 0, 0, 0, 0};
		u32 i;

		scan_chosen(fdt, &c);
		puts("KXPAYLOAD bootargs=");
		for (i = 0; c.bootargs && i < c.bootargs_len && c.bootargs[i]; i++)
			putc(c.bootargs[i]);
		putc('\n');
		if (c.has_start && c.has_end) {
			puts("KXPAYLOAD initrd=");
			puthex(c.initrd_start);
			putc('-');
			puthex(c.initrd_end);
			putc('\n');
		}
	} else {
		puts("KXPAYLOAD no-fdt\n");
	}
	puts("KXPAYLOAD done\n");
	for (;;)
		;
}
