/*
 * x86_64 hand-off values, and the (empty) arch setup step.
 *
 * kx_arch_setup has nothing to do on x86_64: the toolchain builds the complete zero page
 * (setup header, command line and initrd pointers, e820 map) ahead of time, and the kernel
 * takes the boot cpu from the hardware (its APIC), not from anything we pass, unlike
 * ppc64's boot_cpuid_phys in the device tree. The page tables, GDT and segment registers
 * are dealt with in handoff.S, right before the jump.
 */
#include "x86_64.h"

KX_PATCHED volatile u64 kx_kernel_entry = 0;
KX_PATCHED volatile u64 kx_boot_params = 0;

void kx_arch_setup(u64 boot_cpu)
{
	(void)boot_cpu;
}
