/*
 * Console output on an Arm PL011 UART (QEMU virt: 0x09000000), polled.
 *
 * UARTDR (offset 0x00): writing the low 8 bits queues a character. UARTFR (offset 0x18):
 * bit 5 TXFF is set while the transmit FIFO is full. Only 32-bit accesses are used (the
 * registers are 32-bit wide and Device memory does not like narrower surprises). The UART
 * is assumed to be enabled and configured already (firmware or the old kernel did it).
 *
 * kx_uart is patched by the toolchain; 0 disables output even when kx_console is set.
 * The wait for FIFO space is bounded so a wedged UART cannot stop the boot.
 */
#include "arm64.h"

#define PL011_DR 0x00
#define PL011_FR 0x18
#define PL011_FR_TXFF (1u << 5)
#define PL011_SPIN_LIMIT 1000000u

KX_PATCHED volatile u64 kx_uart = 0x09000000;

void kx_arch_putc(char c)
{
	uptr base = (uptr)kx_uart;
	volatile u32 *dr, *fr;
	u32 spins = 0;

	if (!base)
		return;
	dr = (volatile u32 *)(base + PL011_DR);
	fr = (volatile u32 *)(base + PL011_FR);
	while ((*fr & PL011_FR_TXFF) && spins < PL011_SPIN_LIMIT)
		spins++;
	*dr = (u32)(u8)c;
}
