/*
 * The arm64 test payload's C part: report how it was entered on the PL011 at 0x09000000
 * (QEMU virt), then power off through PSCI (or spin if that returns).
 *
 *   KXPAYLOAD x0=0x<x0> x1=0x<x1> x2=0x<x2> x3=0x<x3> el=<N>
 *   KXPAYLOAD bootargs=<the /chosen/bootargs string>
 *   KXPAYLOAD initrd=0x<start>-0x<end>         (only if both properties exist)
 *   KXPAYLOAD done
 *
 * If x0 does not point at a flattened device tree (magic 0xd00dfeed), "KXPAYLOAD no-fdt"
 * replaces the bootargs/initrd lines.
 *
 * Runs with the MMU off (Device memory): built with -mstrict-align, and the device tree is
 * read byte by byte. Position-independent: only PC-relative references, no initialised
 * pointers.
 */
typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;

void kxp_main(u64 x0, u64 x1, u64 x2, u64 x3, u64 el) __attribute__((noreturn));
void kxp_system_off(u64 el);

#define UART_BASE 0x09000000ul
#define PL011_DR 0x00
#define PL011_FR 0x18
#define PL011_FR_TXFF (1u << 5)

#define FDT_MAGIC 0xd00dfeedu
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE 2
#define FDT_PROP 3
#define FDT_NOP 4

static __attribute__((noinline)) void putc(char c)
{
	volatile u32 *dr = (volatile u32 *)(UART_BASE + PL011_DR);
	volatile u32 *fr = (volatile u32 *)(UART_BASE + PL011_FR);
	u32 spins = 0;

	while ((*fr & PL011_FR_TXFF) && spins < 1000000u)
		spins++;
	*dr = (u8)c;
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

static u32 be32(const volatile u8 *p)
{
	return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}

static int name_is(const volatile u8 *name, const char *want)
{
	while (*want && *name == (u8)*want)
		name++, want++;
	return !*want && !*name;
}

/* "chosen" or "chosen@<unit>" */
static int is_chosen(const volatile u8 *name)
{
	const char *want = "chosen";

	while (*want && *name == (u8)*want)
		name++, want++;
	return !*want && (!*name || *name == '@');
}

static u64 cells(const volatile u8 *p, u32 len)
{
	return len == 8 ? (u64)be32(p) << 32 | be32(p + 4) : len == 4 ? be32(p) : 0;
}

struct chosen {
	const volatile u8 *bootargs;
	u32 bootargs_len;
	u64 initrd_start, initrd_end;
	int has_start, has_end;
};

/* Walk the structure block for /chosen's properties; bounded by the header's sizes. */
static void scan_chosen(const volatile u8 *fdt, struct chosen *c)
{
	const volatile u8 *p = fdt + be32(fdt + 8);
	const volatile u8 *end = p + be32(fdt + 36);
	const volatile u8 *strings = fdt + be32(fdt + 12);
	int depth = 0, in_chosen = 0;

	if (be32(fdt + 20) < 17)	/* size_dt_struct exists from version 17 */
		end = fdt + be32(fdt + 4);
	while (p + 4 <= end) {
		u32 tok = be32(p);

		p += 4;
		if (tok == FDT_BEGIN_NODE) {
			const volatile u8 *name = p;

			while (p < end && *p)
				p++;
			p = (const volatile u8 *)(((unsigned long)p + 4) & ~3ul);
			depth++;
			in_chosen = depth == 2 && is_chosen(name);
		} else if (tok == FDT_END_NODE) {
			depth--;
			in_chosen = 0;
		} else if (tok == FDT_PROP) {
			u32 len = be32(p);
			const volatile u8 *name = strings + be32(p + 4);
			const volatile u8 *val = p + 8;

			p = val + ((len + 3) & ~3u);
			if (!in_chosen)
				continue;
			if (name_is(name, "bootargs")) {
				c->bootargs = val;
				c->bootargs_len = len;
			} else if (name_is(name, "linux,initrd-start")) {
				c->initrd_start = cells(val, len);
				c->has_start = 1;
			} else if (name_is(name, "linux,initrd-end")) {
				c->initrd_end = cells(val, len);
				c->has_end = 1;
			}
		} else if (tok != FDT_NOP) {
			break;	/* FDT_END or garbage */
		}
	}
}

void kxp_main(u64 x0, u64 x1, u64 x2, u64 x3, u64 el)
{
	const volatile u8 *fdt = (const volatile u8 *)x0;

	puts("KXPAYLOAD x0=");
	puthex(x0);
	puts(" x1=");
	puthex(x1);
	puts(" x2=");
	puthex(x2);
	puts(" x3=");
	puthex(x3);
	puts(" el=");
	putc((char)('0' + (el & 3)));
	putc('\n');

	if (x0 && !(x0 & 7) && be32(fdt) == FDT_MAGIC) {
		struct chosen c = {0, 0, 0, 0, 0, 0};
		u32 i;

		scan_chosen(fdt, &c);
		puts("KXPAYLOAD bootargs=");
		for (i = 0; c.bootargs && i < c.bootargs_len && c.bootargs[i]; i++)
			putc((char)c.bootargs[i]);
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
	kxp_system_off(el);
	for (;;)
		__asm__ volatile("wfe");
}
