/*
 * arm64 additions to the purgatory ABI of kx.h.
 *
 * Extra globals the toolchain writes for this arch (sizes in toolchain/arches/arm64.py):
 *   kx_kernel_entry  u64  physical address the new kernel is entered at (Image base)
 *   kx_dtb           u64  physical address of the flattened device tree (passed in x0)
 *   kx_uart          u64  physical base of a PL011 UART for the console; 0 = no console
 *   kx_mmu, kx_mmu_ttbr_el1, kx_mmu_ttbr_el2   experimental MMU-on hashing (mmu.S)
 *
 * Everything here runs with the MMU off (unless the experimental kx_mmu is set): every data access is Device memory, so the C code
 * is compiled with -mstrict-align (an unaligned access would fault on hardware).
 */
#ifndef KX_ARM64_H
#define KX_ARM64_H

#include "kx.h"

extern volatile u64 kx_kernel_entry;
extern volatile u64 kx_dtb;
extern volatile u64 kx_uart;

/* Experimental MMU-on hashing (mmu.S; tables from toolchain/arm64_mmu.py). */
extern volatile u32 kx_mmu;                /* 1: MMU and caches on while hashing */
extern volatile u64 kx_mmu_ttbr_el1;       /* EL1&0 (and VHE EL2&0) tree root */
extern volatile u64 kx_mmu_ttbr_el2;       /* EL2 (non-VHE) tree root */
void kx_mmu_on(void);
void kx_mmu_off(void);

/* Exception vectors (entry.S); every vector ends in kx_arch_fault. */
extern const u8 kx_vectors[];
void kx_arch_fault(void) __attribute__((noreturn));

#endif
