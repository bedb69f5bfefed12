/*
 * SHA-256 (FIPS 180-4) for the purgatory, written for machines running with caches off.
 *
 * There every instruction fetch and every data access is a trip to memory, so the cost per
 * hashed byte is (instructions + loads + stores) per byte. The block core is shaped for that:
 *   - the message is read once, eight bytes per load, byte-reversed in registers
 *     (__builtin_bswap64: one ldbrx / rev / bswap where the arch has it);
 *   - the rounds are fully unrolled, the round constants are immediates (no table loads), and
 *     the 16-word message schedule window lives in 16 named locals that the compiler keeps in
 *     registers on 32-register arches;
 *   - the chaining value stays in registers across all the blocks of one call; the copy needed
 *     for the final addition is packed two words per 64-bit register;
 *   - whole blocks are hashed in place; only a block that straddles two regions (or, on
 *     strict-alignment arches, a misaligned one) goes through a small buffer.
 * An arch may provide kx_arch_sha256_blocks() (SHA instructions); the weak default in
 * sha256_arch.c declines and the portable core runs.
 *
 * The region walk hashes memory in place: each region's bytes are fed to the update
 * function straight from their physical address, in table order.
 */
#include "kx.h"

/*
 * Variants measured with bench/purgatory_hash.py (clang from zig 0.17, -O2; accesses = data
 * loads + stores per byte, arm64 / riscv64 / x86_64):
 *   KX_SHA_SAVE_MEM  the block's starting state kept in a 32-byte stack copy (8 accesses per
 *                    block) rather than in 4 packed registers: the registers are worth more
 *                    to the round code (arm64 0.93 -> 0.63).
 *   KX_SHA_MAJ_CARRY Maj in two operations with the a^b carry: fewer instructions
 *                    (arm64 29.9 -> 29.3/byte) but one more live register (accesses
 *                    0.48 -> 0.72); total per byte 30.4 -> 30.0, and it keeps every arch
 *                    under kexec-tools' instruction count.
 *   KX_SHA_W_MEM     the schedule window in a volatile stack array (16-register x86_64):
 *                    worse (x86_64 accesses 7.0 -> 11.1/byte); off.
 * clang still spills on every arch (see the bench table); arm64 has a hand-allocated scalar
 * assembly core in purgatory/arm64/sha256_ce.S for that reason.
 */
#define KX_SHA_SAVE_MEM 1
#define KX_SHA_MAJ_CARRY 1

/* x86_64 loads from any address; the others get 8-byte aligned message words (arm64 with the
 * MMU off faults on unaligned accesses; riscv and ppc64 real mode may trap or be slow). */
#if defined(__x86_64__)
#define KX_ALIGN_MASK 0
typedef u64 __attribute__((may_alias, aligned(1))) msg64;
#else
#define KX_ALIGN_MASK 7
typedef u64 __attribute__((may_alias, aligned(8))) msg64;
#endif

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define BSIG0(x) (ROR(x, 2) ^ ROR(x, 13) ^ ROR(x, 22))
#define BSIG1(x) (ROR(x, 6) ^ ROR(x, 11) ^ ROR(x, 25))
#define SSIG0(x) (ROR(x, 7) ^ ROR(x, 18) ^ ((x) >> 3))
#define SSIG1(x) (ROR(x, 17) ^ ROR(x, 19) ^ ((x) >> 10))

#ifdef KX_SHA_MAJ_CARRY
#define KX_MAJ(a, b, c, x, y) (x = a ^ b, b ^ (x & y))
#else
#define KX_MAJ(a, b, c, x, y) ((void)x, (void)y, (a & b) | (c & (a | b)))
#endif

/*
 * One round. Names rotate instead of values: round i+1 is RND(h,a,b,c,d,e,f,g,...).
 * Ch(e,f,g) = g ^ (e & (f ^ g)). Maj(a,b,c) = b ^ ((a ^ b) & (b ^ c)): this round's a ^ b is
 * the next round's b ^ c, so x/y alternate between rounds and Maj costs two operations.
 */
#define RND(a, b, c, d, e, f, g, h, x, y, k, w)                                        \
	do {                                                                           \
		u32 t1_ = h + BSIG1(e) + (g ^ (e & (f ^ g))) + (u32)(k) + (w);        \
		h = BSIG0(a) + KX_MAJ(a, b, c, x, y);                                  \
		d += t1_;                                                              \
		h += t1_;                                                              \
	} while (0)

/* Message schedule, in place in the 16-word window: w[i] += s0(w[i+1]) + w[i+9] + s1(w[i+14]). */
#define SCHED(w0, w1, w9, w14) (w0 += SSIG0(w1) + w9 + SSIG1(w14))

/* Eight rounds with the names back where they started. */
#define R8(x0, x1, x2, x3, x4, x5, x6, x7, k0, k1, k2, k3, k4, k5, k6, k7)          \
	RND(a, b, c, d, e, f, g, h, m, n, k0, x0);                                     \
	RND(h, a, b, c, d, e, f, g, n, m, k1, x1);                                     \
	RND(g, h, a, b, c, d, e, f, m, n, k2, x2);                                     \
	RND(f, g, h, a, b, c, d, e, n, m, k3, x3);                                     \
	RND(e, f, g, h, a, b, c, d, m, n, k4, x4);                                     \
	RND(d, e, f, g, h, a, b, c, n, m, k5, x5);                                     \
	RND(c, d, e, f, g, h, a, b, m, n, k6, x6);                                     \
	RND(b, c, d, e, f, g, h, a, n, m, k7, x7)

/* Sixteen rounds that first extend the schedule window (rounds 16..63). */
#define S16(k0, k1, k2, k3, k4, k5, k6, k7, k8, k9, k10, k11, k12, k13, k14, k15)     \
	R8(SCHED(w0, w1, w9, w14), SCHED(w1, w2, w10, w15), SCHED(w2, w3, w11, w0),     \
	   SCHED(w3, w4, w12, w1), SCHED(w4, w5, w13, w2), SCHED(w5, w6, w14, w3),      \
	   SCHED(w6, w7, w15, w4), SCHED(w7, w8, w0, w5),                                \
	   k0, k1, k2, k3, k4, k5, k6, k7);                                             \
	R8(SCHED(w8, w9, w1, w6), SCHED(w9, w10, w2, w7), SCHED(w10, w11, w3, w8),      \
	   SCHED(w11, w12, w4, w9), SCHED(w12, w13, w5, w10), SCHED(w13, w14, w6, w11), \
	   SCHED(w14, w15, w7, w12), SCHED(w15, w0, w8, w13),                            \
	   k8, k9, k10, k11, k12, k13, k14, k15)

#ifndef KX_SHA_BARRIER
#define KX_SHA_BARRIER() __asm__ __volatile__("" ::: "memory")
#endif

/* Two message words from one 8-byte big-endian load. */
#define LOAD2(wa, wb, i)                                                               \
	do {                                                                           \
		u64 v_;                                                                \
		KX_SHA_BARRIER();                                                      \
		v_ = __builtin_bswap64(*(const msg64 *)(p + 8 * (i)));                 \
		wa = (u32)(v_ >> 32);                                                  \
		wb = (u32)v_;                                                          \
	} while (0)

/* A leaf function: no call inside, so no frame record and the link register is free too. */
static __attribute__((noinline)) void blocks_portable(u32 state[8], const u8 *p, u64 nblocks)
{
	u32 a, b, c, d, e, f, g, h;

	a = state[0]; b = state[1]; c = state[2]; d = state[3];
	e = state[4]; f = state[5]; g = state[6]; h = state[7];
	do {
		/* The chaining value for the final addition, two words per register. */
#ifdef KX_SHA_SAVE_MEM
		volatile u64 save[4];
		save[0] = a | (u64)b << 32; save[1] = c | (u64)d << 32;
		save[2] = e | (u64)f << 32; save[3] = g | (u64)h << 32;
#define ab save[0]
#define cd save[1]
#define ef save[2]
#define gh save[3]
#else
		u64 ab = a | (u64)b << 32, cd = c | (u64)d << 32;
		u64 ef = e | (u64)f << 32, gh = g | (u64)h << 32;
#endif
#ifdef KX_SHA_W_MEM
		volatile u32 wm[16];
#define w0 wm[0]
#define w1 wm[1]
#define w2 wm[2]
#define w3 wm[3]
#define w4 wm[4]
#define w5 wm[5]
#define w6 wm[6]
#define w7 wm[7]
#define w8 wm[8]
#define w9 wm[9]
#define w10 wm[10]
#define w11 wm[11]
#define w12 wm[12]
#define w13 wm[13]
#define w14 wm[14]
#define w15 wm[15]
#else
		u32 w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, w11, w12, w13, w14, w15;
#endif
		u32 m, n = b ^ c;

		/* Round constants (FIPS 180-4, 4.2.2): first 32 bits of the fractional parts
		 * of the cube roots of the first 64 primes. Message words are loaded just
		 * before the round that first needs them. */
		LOAD2(w0, w1, 0);
		RND(a, b, c, d, e, f, g, h, m, n, 0x428a2f98, w0);
		RND(h, a, b, c, d, e, f, g, n, m, 0x71374491, w1);
		LOAD2(w2, w3, 1);
		RND(g, h, a, b, c, d, e, f, m, n, 0xb5c0fbcf, w2);
		RND(f, g, h, a, b, c, d, e, n, m, 0xe9b5dba5, w3);
		LOAD2(w4, w5, 2);
		RND(e, f, g, h, a, b, c, d, m, n, 0x3956c25b, w4);
		RND(d, e, f, g, h, a, b, c, n, m, 0x59f111f1, w5);
		LOAD2(w6, w7, 3);
		RND(c, d, e, f, g, h, a, b, m, n, 0x923f82a4, w6);
		RND(b, c, d, e, f, g, h, a, n, m, 0xab1c5ed5, w7);
		LOAD2(w8, w9, 4);
		RND(a, b, c, d, e, f, g, h, m, n, 0xd807aa98, w8);
		RND(h, a, b, c, d, e, f, g, n, m, 0x12835b01, w9);
		LOAD2(w10, w11, 5);
		RND(g, h, a, b, c, d, e, f, m, n, 0x243185be, w10);
		RND(f, g, h, a, b, c, d, e, n, m, 0x550c7dc3, w11);
		LOAD2(w12, w13, 6);
		RND(e, f, g, h, a, b, c, d, m, n, 0x72be5d74, w12);
		RND(d, e, f, g, h, a, b, c, n, m, 0x80deb1fe, w13);
		LOAD2(w14, w15, 7);
		RND(c, d, e, f, g, h, a, b, m, n, 0x9bdc06a7, w14);
		RND(b, c, d, e, f, g, h, a, n, m, 0xc19bf174, w15);
		S16(0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
		    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967);
		S16(0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
		    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070);
		S16(0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
		    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2);

		{
			u64 t;
			t = ab; a += (u32)t; b += (u32)(t >> 32);
			t = cd; c += (u32)t; d += (u32)(t >> 32);
			t = ef; e += (u32)t; f += (u32)(t >> 32);
			t = gh; g += (u32)t; h += (u32)(t >> 32);
		}
		p += 64;
	} while (--nblocks);
	state[0] = a; state[1] = b; state[2] = c; state[3] = d;
	state[4] = e; state[5] = f; state[6] = g; state[7] = h;
}

void kx_sha256_blocks(u32 state[8], const u8 *p, u64 nblocks)
{
	if (nblocks && !kx_arch_sha256_blocks(state, p, nblocks))
		blocks_portable(state, p, nblocks);
}

/* One block from a buffer of any alignment, through an aligned copy. */
static void block_copy(u32 state[8], const u8 *src)
{
	u64 t[8];
	u8 *d = (u8 *)t;
	int i;

	for (i = 0; i < 64; i++)
		d[i] = src[i];
	kx_sha256_blocks(state, d, 1);
}

void kx_sha256_init(struct kx_sha256 *s)
{
	/* First 32 bits of the fractional parts of the square roots of the first 8 primes. */
	s->h[0] = 0x6a09e667; s->h[1] = 0xbb67ae85; s->h[2] = 0x3c6ef372; s->h[3] = 0xa54ff53a;
	s->h[4] = 0x510e527f; s->h[5] = 0x9b05688c; s->h[6] = 0x1f83d9ab; s->h[7] = 0x5be0cd19;
	s->total = 0;
	s->fill = 0;
}

void kx_sha256_update(struct kx_sha256 *s, const void *data, u64 len)
{
	const u8 *p = data;
	u64 n;

	s->total += len;
	if (s->fill) {
		/* Finish the block that began in an earlier region. */
		while (len && s->fill < 64) {
			s->buf[s->fill++] = *p++;
			len--;
		}
		if (s->fill < 64)
			return;
		block_copy(s->h, s->buf);
		s->fill = 0;
	}
	n = len / 64;
	if (n) {
		if (((uptr)p & KX_ALIGN_MASK) == 0) {
			kx_sha256_blocks(s->h, p, n);
		} else {
			u64 i;

			for (i = 0; i < n; i++)
				block_copy(s->h, p + 64 * i);
		}
		p += 64 * n;
		len -= 64 * n;
	}
	while (len--)
		s->buf[s->fill++] = *p++;
}

void kx_sha256_final(struct kx_sha256 *s, u8 out[KX_DIGEST_SIZE])
{
	u64 bits = s->total * 8;
	int i;

	/* Padding: 0x80, zeros up to 56 mod 64, then the bit length big-endian. */
	s->buf[s->fill++] = 0x80;
	if (s->fill > 56) {
		while (s->fill < 64)
			s->buf[s->fill++] = 0;
		block_copy(s->h, s->buf);
		s->fill = 0;
	}
	while (s->fill < 56)
		s->buf[s->fill++] = 0;
	for (i = 0; i < 8; i++)
		s->buf[56 + i] = (u8)(bits >> (56 - 8 * i));
	block_copy(s->h, s->buf);
	for (i = 0; i < 8; i++) {
		out[4 * i] = (u8)(s->h[i] >> 24);
		out[4 * i + 1] = (u8)(s->h[i] >> 16);
		out[4 * i + 2] = (u8)(s->h[i] >> 8);
		out[4 * i + 3] = (u8)s->h[i];
	}
}

u64 kx_hash_regions(u8 out[KX_DIGEST_SIZE])
{
	struct kx_sha256 s;
	u64 total = 0;
	int i;

	kx_sha256_init(&s);
	for (i = 0; i < KX_MAX_REGIONS; i++) {
		u64 len = kx_regions[i].len;

		if (!len)
			continue;
		kx_sha256_update(&s, (const void *)(uptr)kx_regions[i].start, len);
		total += len;
	}
	kx_sha256_final(&s, out);
	return total;
}

int kx_check_digest(u64 *hashed)
{
	u8 got[KX_DIGEST_SIZE];
	u8 diff = 0;
	int i;

	*hashed = kx_hash_regions(got);
	for (i = 0; i < KX_DIGEST_SIZE; i++)
		diff |= got[i] ^ kx_digest[i];
	return diff == 0;
}
