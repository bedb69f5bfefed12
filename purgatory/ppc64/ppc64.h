/*
 * ppc64 (ELFv2, either endianness) additions to the purgatory ABI of kx.h.
 *
 * Extra globals the toolchain writes for this arch (sizes in toolchain/arches/ppc64le.py):
 *   kx_kernel_entry  u64   physical entry of the new kernel (its load address)
 *   kx_dtb           u64   physical address of the flattened device tree
 *   kx_kernel_head   0xfc  the new kernel's bytes 4..0x100 (head.S, section .head)
 */
#ifndef KX_PPC64_H
#define KX_PPC64_H

#include "kx.h"

#define KX_PPC64_HEAD_SIZE 0x100

extern volatile u64 kx_kernel_entry;
extern volatile u64 kx_dtb;
extern u8 kx_kernel_head[KX_PPC64_HEAD_SIZE - 4];

#endif
