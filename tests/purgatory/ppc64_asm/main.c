/*
 * Test driver for purgatory/ppc64/sha256_ppc64.S under qemu-ppc64le-static and
 * qemu-ppc64-static (tests/purgatory/test_sha256_ppc64_asm.py). Not part of any purgatory.
 *
 * stdin: a header of 19 big-endian u64 (mode, offset, nreg, len[16]), then the message.
 * mode 0: the message is placed at tx_buf + offset and split into nreg contiguous regions;
 *         kx_hash_regions() (common/sha256.c, which calls the assembly hook) hashes them;
 *         stdout = the 32-byte digest.
 * mode 1: the message is already padded (a multiple of 64 bytes, offset a multiple of 8);
 *         the hook is called once on all its blocks through tx_checked_call;
 *         stdout = the 8 state words big-endian (= the digest), the hook's return value
 *         (4 bytes, big-endian) and the changed-register mask (4 bytes, big-endian).
 * Byte order is decoded explicitly, so the same driver serves both byte orders.
 */
#include "kx.h"

#define SYS_READ 3
#define SYS_WRITE 4
#define TX_BUF 16384

long tx_syscall(long nr, long a0, long a1, long a2);
u64 tx_checked_call(u32 h[8], const u8 *p, u64 nblocks);
int tx_main(void);

static u8 tx_buf[TX_BUF + 64] __attribute__((aligned(64)));
static u8 tx_hdr[19 * 8];
static u8 tx_out[40];

/* kx.h declares it; no console in this harness. */
void kx_arch_putc(char c)
{
	(void)c;
}

static int read_all(u8 *p, u64 n)
{
	while (n) {
		long r = tx_syscall(SYS_READ, 0, (long)(uptr)p, (long)n);

		if (r <= 0)
			return -1;
		p += r;
		n -= (u64)r;
	}
	return 0;
}

static u64 be64(const u8 *p)
{
	u64 v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void put_be32(u8 *p, u32 v)
{
	p[0] = (u8)(v >> 24);
	p[1] = (u8)(v >> 16);
	p[2] = (u8)(v >> 8);
	p[3] = (u8)v;
}

int tx_main(void)
{
	u64 mode, offset, nreg, total = 0, at, i, out_len = 32;

	if (read_all(tx_hdr, sizeof(tx_hdr)))
		return 2;
	mode = be64(tx_hdr);
	offset = be64(tx_hdr + 8);
	nreg = be64(tx_hdr + 16);
	if (nreg > KX_MAX_REGIONS || offset > 63)
		return 3;
	for (i = 0; i < nreg; i++)
		total += be64(tx_hdr + 24 + 8 * i);
	if (total > TX_BUF || read_all(tx_buf + offset, total))
		return 3;
	if (mode == 0) {
		at = (uptr)tx_buf + offset;
		for (i = 0; i < KX_MAX_REGIONS; i++) {
			u64 len = i < nreg ? be64(tx_hdr + 24 + 8 * i) : 0;

			kx_regions[i].start = at;
			kx_regions[i].len = len;
			at += len;
		}
		kx_hash_regions(tx_out);
	} else if (mode == 1) {
		u32 h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
			    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
		u64 r;

		if (total % 64 || offset % 8)
			return 3;
		r = tx_checked_call(h, tx_buf + offset, total / 64);
		for (i = 0; i < 8; i++)
			put_be32(tx_out + 4 * i, h[i]);
		put_be32(tx_out + 32, (u32)r);
		put_be32(tx_out + 36, (u32)(r >> 32));
		out_len = 40;
	} else {
		return 3;
	}
	return tx_syscall(SYS_WRITE, 1, (long)(uptr)tx_out, (long)out_len) == (long)out_len ? 0 : 4;
}
