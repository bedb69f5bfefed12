/*
 * Host-only x86_64 hook (bench/test harness, never in a purgatory): always the SSE2 block
 * function of purgatory/x86_64/sha256_sse.S, so a host with SHA-NI can time and test it.
 * Linux has SSE enabled for user mode already.
 */
#include "kx.h"

void kx_sha256_blocks_sse(u32 h[8], const u8 *p, u64 nblocks);

int kx_arch_sha256_blocks(u32 h[8], const u8 *p, u64 nblocks)
{
	kx_sha256_blocks_sse(h, p, nblocks);
	return 1;
}
