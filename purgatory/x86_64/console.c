/*
 * Console output on the legacy COM1 16550 UART (I/O port 0x3f8), polled.
 *
 * The old kernel's serial driver left the UART programmed (baud, 8N1), so we only wait for
 * the transmit holding register to be empty (LSR bit 5) and write the byte. The wait is
 * bounded: a missing UART (reads as 0xff, bit set) or a stuck one must not hang the boot.
 * A newline goes out as CR LF for terminals.
 */
#include "x86_64.h"

static inline void outb(unsigned short port, u8 v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline u8 inb(unsigned short port)
{
	u8 v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void put_raw(char c)
{
	unsigned int spins = 100000;

	while (!(inb(KX_X86_COM1 + KX_X86_UART_LSR) & KX_X86_LSR_THRE) && --spins)
		;
	outb(KX_X86_COM1, (u8)c);
}

void kx_arch_putc(char c)
{
	if (c == '\n')
		put_raw('\r');
	put_raw(c);
}
