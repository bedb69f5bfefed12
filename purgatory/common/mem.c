/*
 * Byte copy and fill. Freestanding code has no libc, but the compiler may still emit calls
 * to memcpy/memset (structure copies, zeroing of large locals), so those names exist too.
 * Plain byte loops: the purgatory never copies much, and byte accesses are safe on every
 * arch whatever the memory attributes (arm64 with the MMU off faults on unaligned words).
 */
#include "kx.h"

void *kx_memcpy(void *d, const void *s, uptr n)
{
	u8 *dp = d;
	const u8 *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

void *kx_memset(void *d, int c, uptr n)
{
	u8 *dp = d;

	while (n--)
		*dp++ = (u8)c;
	return d;
}

void *memcpy(void *d, const void *s, uptr n);
void *memset(void *d, int c, uptr n);

void *memcpy(void *d, const void *s, uptr n)
{
	return kx_memcpy(d, s, n);
}

void *memset(void *d, int c, uptr n)
{
	return kx_memset(d, c, n);
}
