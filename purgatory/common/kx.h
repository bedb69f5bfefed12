/*
 * The purgatory's contract with the toolchain.
 *
 * Every global the toolchain writes is declared here with a fixed size and lives in the
 * PROGBITS section ".data.kx" (never .bss: the patch step refuses NOBITS symbols, and the
 * bytes must exist in the ELF to be rewritten). toolchain/patch.py checks each symbol's
 * binding, section type and st_size before it writes, so changing a size here without
 * changing the arch module fails the build instead of corrupting the image.
 *
 * Flow (common/purgatory.c): the arch entry stub sets up a stack (and TOC on ppc64) and
 * calls kx_main(boot_cpu). kx_main verifies the digest unless kx_verify is 0, prints one
 * status line if kx_console is set, then calls kx_arch_handoff(), which never returns.
 */
#ifndef KX_H
#define KX_H

typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef unsigned long uptr;

#define KX_MAX_REGIONS 16
#define KX_DIGEST_SIZE 32

struct kx_region {
	u64 start; /* physical address */
	u64 len;   /* bytes; 0 = unused entry */
};

#define KX_PATCHED __attribute__((section(".data.kx"), used))

/* Written by the toolchain (names and sizes are part of the ABI). */
extern volatile u32 kx_verify;                         /* 1: check the digest; 0: skip */
extern volatile u32 kx_console;                        /* 1: print one status line */
extern struct kx_region kx_regions[KX_MAX_REGIONS];    /* hashed in table order */
extern u8 kx_digest[KX_DIGEST_SIZE];                   /* expected SHA-256 */

/* Common code, usable by every arch and by tests. */
struct kx_sha256 {
	u32 h[8];
	u64 total;       /* bytes fed so far */
	u32 fill;        /* bytes waiting in buf */
	u8 buf[64];
};
void kx_sha256_init(struct kx_sha256 *s);
void kx_sha256_update(struct kx_sha256 *s, const void *data, u64 len);
void kx_sha256_final(struct kx_sha256 *s, u8 out[KX_DIGEST_SIZE]);

/*
 * SHA-256 block core: hashes nblocks whole 64-byte blocks at p into h (no padding). p must be
 * 8-byte aligned except on x86_64 (kx_sha256_update guarantees it by buffering otherwise).
 * Tries kx_arch_sha256_blocks first.
 */
void kx_sha256_blocks(u32 h[8], const u8 *p, u64 nblocks);
/*
 * Arch hardware path (SHA instructions), detected at run time: hashes the blocks and returns
 * nonzero, or returns 0 without touching h when the hardware path is unavailable. The default
 * (purgatory/common/sha256_arch.c) is weak and always returns 0.
 */
int kx_arch_sha256_blocks(u32 h[8], const u8 *p, u64 nblocks);

/* Hashes every region of kx_regions; returns bytes hashed. */
u64 kx_hash_regions(u8 out[KX_DIGEST_SIZE]);
/* 1 when the regions hash to kx_digest; *hashed receives the byte count. */
int kx_check_digest(u64 *hashed);

void *kx_memcpy(void *d, const void *s, uptr n);
void *kx_memset(void *d, int c, uptr n);

/* Console helpers over kx_arch_putc (no-ops unless kx_console). */
void kx_puts(const char *s);
void kx_put_dec(u64 v);
void kx_put_hex(u64 v);

void kx_main(u64 boot_cpu) __attribute__((noreturn));

/* Provided by purgatory/<arch>/. */
void kx_arch_putc(char c);
void kx_arch_setup(u64 boot_cpu);            /* e.g. ppc64: boot cpu id into the DT */
void kx_arch_handoff(void) __attribute__((noreturn));
void kx_arch_halt(void) __attribute__((noreturn)); /* spin forever (digest mismatch) */

#endif
