/*
 * Default for the arch SHA-256 hook: no hardware path, the portable core in sha256.c runs.
 * Weak, so an arch that has SHA instructions (purgatory/<arch>/sha256_*.c) overrides it just
 * by defining the symbol; arches without one need nothing.
 */
#include "kx.h"

__attribute__((weak)) int kx_arch_sha256_blocks(u32 h[8], const u8 *p, u64 nblocks)
{
	(void)h;
	(void)p;
	(void)nblocks;
	return 0;
}
