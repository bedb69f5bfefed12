/*
 * ppc64 hand-off values and the device-tree fix-up done before the jump.
 *
 * Kept apart from the rfid/hypercall code (handoff.S, console.c) so that the user-mode test
 * link can run it unchanged.
 */
#include "ppc64.h"

#define FDT_MAGIC 0xd00dfeedu
#define FDT_OFF_VERSION 20
#define FDT_OFF_BOOT_CPUID 28

KX_PATCHED volatile u64 kx_kernel_entry = 0;
KX_PATCHED volatile u64 kx_dtb = 0;

/* The device tree header is big-endian whatever the cpu's byte order: go byte by byte. */
static u32 get_be32(const volatile u8 *p)
{
	return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | (u32)p[3];
}

static void put_be32(volatile u8 *p, u32 v)
{
	p[0] = (u8)(v >> 24);
	p[1] = (u8)(v >> 16);
	p[2] = (u8)(v >> 8);
	p[3] = (u8)v;
}

/*
 * The new kernel takes its boot cpu from the header's boot_cpuid_phys (version >= 2); it
 * must name the cpu that will actually enter the kernel, i.e. the one doing the kexec.
 */
void kx_arch_setup(u64 boot_cpu)
{
	volatile u8 *dt = (volatile u8 *)(uptr)kx_dtb;

	if (!dt || get_be32(dt) != FDT_MAGIC || get_be32(dt + FDT_OFF_VERSION) < 2)
		return;
	put_be32(dt + FDT_OFF_BOOT_CPUID, (u32)boot_cpu);
}
