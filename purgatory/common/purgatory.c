/*
 * The arch-independent part of the purgatory: check the loaded segments, then hand off.
 */
#include "kx.h"

void kx_main(u64 boot_cpu)
{
	if (kx_verify) {
		u64 hashed = 0;

		if (!kx_check_digest(&hashed)) {
			kx_puts("kx: digest mismatch\n");
			kx_arch_halt();
		}
		kx_puts("kx: verified ");
		kx_put_dec(hashed);
		kx_puts(" bytes\n");
	}
	kx_arch_setup(boot_cpu);
	kx_arch_handoff();
}
