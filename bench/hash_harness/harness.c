/*
 * Benchmark/test harness around the purgatory's hash (not part of any purgatory image).
 *
 * The driver (bench/hash_harness/hxrun.py) fills hx_data with the message and hx_job with
 * where it starts and how it is split into regions; hx_run() turns that into kx_regions and
 * calls the purgatory's own kx_hash_regions(), leaving the digest in hx_out. Everything here
 * lives in .text.hx, which the harness link places before __hash_start, so the counters only
 * see the hash code (sha256.c, the arch hook, mem.c) between __hash_start and __hash_end.
 */
#include "kx.h"

#define HX __attribute__((section(".text.hx")))
#define HX_DATA_SIZE (2u << 20)

struct hx_job {
	u64 offset;                 /* message starts at hx_data + offset */
	u64 nreg;                   /* regions used */
	u64 len[KX_MAX_REGIONS];    /* region lengths, contiguous in hx_data */
};

struct hx_job hx_job __attribute__((section(".data.hx"), used)) = {0, 0, {0}};
u8 hx_out[KX_DIGEST_SIZE] __attribute__((section(".data.hx"), used)) = {1};
u8 hx_data[HX_DATA_SIZE + 64] __attribute__((aligned(64)));

HX void hx_run(void)
{
	u64 at = (uptr)hx_data + hx_job.offset;
	u64 i;

	for (i = 0; i < KX_MAX_REGIONS; i++) {
		u64 len = i < hx_job.nreg ? hx_job.len[i] : 0;

		kx_regions[i].start = at;
		kx_regions[i].len = len;
		at += len;
	}
	kx_hash_regions(hx_out);
}

/* Purgatory symbols the hash objects do not use but data.c/kx.h expect to exist. */
HX void kx_arch_putc(char c) { (void)c; }
