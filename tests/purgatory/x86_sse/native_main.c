/*
 * Native (Linux x86_64 user mode) driver for tests/purgatory/test_sha256_x86_sse.py: the
 * purgatory's kx_sha256_* with the hook bound to kx_sha256_blocks_sse (sse_direct.c).
 *
 *   native_main OFFSET LEN...   reads the message from stdin, places it OFFSET (0..63) bytes
 *                               into a 64-byte aligned buffer, feeds it to kx_sha256_update
 *                               in pieces of the given lengths (the rest, if any, last) and
 *                               prints the digest in hex.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kx.h"

int main(int argc, char **argv)
{
	size_t cap = 1 << 16, n = 0, r, at = 0, off = argc > 1 ? strtoul(argv[1], 0, 0) : 0;
	unsigned char *in = malloc(cap), *buf;
	struct kx_sha256 s;
	u8 out[32];
	int i;

	while ((r = fread(in + n, 1, cap - n, stdin)) > 0) {
		n += r;
		if (n == cap)
			in = realloc(in, cap *= 2);
	}
	buf = aligned_alloc(64, (n + 64 + 63) / 64 * 64);
	memcpy(buf + off, in, n);
	kx_sha256_init(&s);
	for (i = 2; i < argc && at < n; i++) {
		size_t len = strtoul(argv[i], 0, 0);

		if (len > n - at)
			len = n - at;
		kx_sha256_update(&s, buf + off + at, len);
		at += len;
	}
	kx_sha256_update(&s, buf + off + at, n - at);
	kx_sha256_final(&s, out);
	for (i = 0; i < 32; i++)
		printf("%02x", out[i]);
	printf("\n");
	return 0;
}
