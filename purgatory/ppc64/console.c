/*
 * Console output on a PAPR (pseries) partition: the H_PUT_TERM_CHAR hypercall.
 *
 * sc 1 with r3 = 0x58 (H_PUT_TERM_CHAR), r4 = terminal number, r5 = byte count (1..16),
 * r6/r7 = the bytes, first byte in the most significant byte of r6. Terminal 0 is QEMU's
 * default console (PowerVM would need the vty node's "reg"). The hypercall may clobber
 * r0, r3-r12, cr0 and ctr.
 *
 * Characters are collected until a newline or 16 bytes, then sent in one call.
 */
#include "kx.h"

#define H_PUT_TERM_CHAR 0x58

static char line[16];
static unsigned int used;

static void flush(void)
{
	register u64 r3 __asm__("r3") = H_PUT_TERM_CHAR;
	register u64 r4 __asm__("r4") = 0;
	register u64 r5 __asm__("r5") = used;
	register u64 r6 __asm__("r6") = 0;
	register u64 r7 __asm__("r7") = 0;
	unsigned int i;

	if (!used)
		return;
	for (i = 0; i < 16; i++) {
		u64 b = i < used ? (u8)line[i] : 0;

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

void kx_arch_putc(char c)
{
	line[used++] = c;
	if (c == '\n' || used == sizeof(line))
		flush();
}
