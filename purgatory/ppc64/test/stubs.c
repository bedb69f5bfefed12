/*
 * User-mode replacements for the ppc64 console, hand-off and halt (console.c and
 * handoff.S of the real purgatory), so the rest of the purgatory runs unchanged under
 * qemu-ppc64le-static.
 *
 * kx_arch_handoff prints the values the real one would put in registers, then exits 0:
 *   KXTEST handoff r3=0x<kx_dtb> r4=0x<kx_kernel_entry> r5=0x0 cpu=<boot_cpuid_phys|none>
 * kx_arch_halt exits with status 3.
 */
#include "ppc64.h"

#define SYS_EXIT 1
#define SYS_WRITE 4

long kx_test_syscall(long nr, long a0, long a1, long a2);

/* Patched by the tests: the cpu id passed to kx_main, a device tree header, and memory
 * for the regions to point at. Initialised so they are PROGBITS. */
volatile u32 kx_test_cpu = 7;
u8 kx_test_dt[64] __attribute__((aligned(8))) = {
	0xd0, 0x0d, 0xfe, 0xed, 0, 0, 0, 64,	/* magic, totalsize */
	[20] = 0, 0, 0, 17,			/* version 17 */
	[24] = 0, 0, 0, 16,			/* last compatible version */
};
u8 kx_test_buf[8192] __attribute__((aligned(64))) = {1};

static void out(const char *s, long n)
{
	kx_test_syscall(SYS_WRITE, 1, (long)s, n);
}

static void outs(const char *s)
{
	long n = 0;

	while (s[n])
		n++;
	out(s, n);
}

static void outhex(u64 v)
{
	char buf[18];
	int i = sizeof(buf);

	do {
		buf[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	buf[--i] = 'x';
	buf[--i] = '0';
	out(&buf[i], (long)sizeof(buf) - i);
}

void kx_arch_putc(char c)
{
	out(&c, 1);
}

void kx_arch_handoff(void)
{
	const volatile u8 *dt = (const volatile u8 *)(uptr)kx_dtb;

	outs("KXTEST handoff r3=");
	outhex(kx_dtb);
	outs(" r4=");
	outhex(kx_kernel_entry);
	outs(" r5=");
	outhex(0);
	outs(" cpu=");
	if (dt && dt[0] == 0xd0 && dt[1] == 0x0d && dt[2] == 0xfe && dt[3] == 0xed)
		outhex((u32)dt[28] << 24 | (u32)dt[29] << 16 | (u32)dt[30] << 8 | dt[31]);
	else
		outs("none");
	outs("\n");
	kx_test_syscall(SYS_EXIT, 0, 0, 0);
	for (;;)
		;
}

void kx_arch_halt(void)
{
	kx_test_syscall(SYS_EXIT, 3, 0, 0);
	for (;;)
		;
}
