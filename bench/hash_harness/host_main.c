/*
 * Host (Linux x86_64) driver for the x86_64 hash: SHA-NI cannot run under unicorn, so the
 * benchmark and tests run it natively. Reads the message from stdin; prints the digest in
 * hex; with argv[1] = N, also hashes the message N times more and prints the seconds taken.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "kx.h"

int main(int argc, char **argv)
{
	size_t cap = 1 << 20, n = 0, r;
	unsigned char *buf = malloc(cap);
	struct kx_sha256 s;
	u8 out[32];
	int i, reps = argc > 1 ? atoi(argv[1]) : 0;
	struct timespec t0, t1;

	while ((r = fread(buf + n, 1, cap - n, stdin)) > 0) {
		n += r;
		if (n == cap)
			buf = realloc(buf, cap *= 2);
	}
	kx_sha256_init(&s);
	kx_sha256_update(&s, buf, n);
	kx_sha256_final(&s, out);
	for (i = 0; i < 32; i++)
		printf("%02x", out[i]);
	printf("\n");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < reps; i++) {
		kx_sha256_init(&s);
		kx_sha256_update(&s, buf, n);
		kx_sha256_final(&s, out);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (reps)
		printf("%.6f\n", (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}
