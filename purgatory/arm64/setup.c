/*
 * arm64 hand-off values and the (empty) arch set-up.
 *
 * kx_arch_setup has nothing to do on arm64: the boot cpu is named by the cpu that enters
 * the kernel (no header field to fill as on ppc64), the device tree was completed by the
 * toolchain, and the registers the boot protocol asks for are set in handoff.S. The
 * boot_cpu argument (always 0 from entry.S) is ignored.
 */
#include "arm64.h"

KX_PATCHED volatile u64 kx_kernel_entry = 0;
KX_PATCHED volatile u64 kx_dtb = 0;

void kx_arch_setup(u64 boot_cpu)
{
	(void)boot_cpu;
}
