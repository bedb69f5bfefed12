/*
 * x86_64 additions to the purgatory ABI of kx.h.
 *
 * Extra globals the toolchain writes for this arch (sizes in toolchain/arches/x86_64.py):
 *   kx_kernel_entry  u64  physical address of the kernel's 64-bit entry (load address + 0x200)
 *   kx_boot_params   u64  physical address of the zero page (struct boot_params), passed in rsi
 */
#ifndef KX_X86_64_H
#define KX_X86_64_H

#include "kx.h"

/* Selectors of the purgatory's own GDT (handoff.S); the boot protocol asks for these. */
#define KX_X86_CS 0x10
#define KX_X86_DS 0x18

/* 16550 UART at the legacy COM1 port. */
#define KX_X86_COM1 0x3f8
#define KX_X86_UART_LSR 5
#define KX_X86_LSR_THRE 0x20

extern volatile u64 kx_kernel_entry;
extern volatile u64 kx_boot_params;

#endif
