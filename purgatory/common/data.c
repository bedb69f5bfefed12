/*
 * The patched globals of kx.h, defined once for every arch.
 *
 * All of them live in ".data.kx" (KX_PATCHED) with explicit initialisers, so they are
 * PROGBITS bytes in the linked image that the toolchain can overwrite in place.
 *
 * Defaults of an image nobody patched: verification on, console on, no regions and an
 * all-zero digest. An all-zero digest never equals a SHA-256 output in practice (the
 * empty input hashes to e3b0c442...), so an unpatched purgatory reports a mismatch and
 * halts instead of jumping to kernel entry 0. The toolchain always writes every symbol.
 */
#include "kx.h"

KX_PATCHED volatile u32 kx_verify = 1;
KX_PATCHED volatile u32 kx_console = 1;
KX_PATCHED struct kx_region kx_regions[KX_MAX_REGIONS] = {{0, 0}};
KX_PATCHED u8 kx_digest[KX_DIGEST_SIZE] = {0};
