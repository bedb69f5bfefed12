/*
 * arm64 additions to the purgatory ABI of kx.h.
 *
 * Extra globals the toolchain writes for this arch (sizes in toolchain/arches/arm64.py):
 *   kx_kernel_entry  u64  physical address the new kernel is entered at (Image base)
 *   kx_dtb           u64  physical address of the flattened device tree (passed in x0)
 *   kx_uart          u64  physical base of a PL011 UART for the console; 0 = no console
 *
 * Everything here runs with the MMU off: every data access is Device memory, so the C code
 * is compiled with -mstrict-align (an unaligned access would fault on hardware).
 */
#ifndef KX_ARM64_H
#define KX_ARM64_H

#include "kx.h"

extern volatile u64 kx_kernel_entry;
extern volatile u64 kx_dtb;
extern volatile u64 kx_uart;

/* Exception vectors (entry.S); every vector ends in kx_arch_fault. */
extern const u8 kx_vectors[];
void kx_arch_fault(void) __attribute__((noreturn));

#endif
