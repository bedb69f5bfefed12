/*
 * The system-call layer of kxload. sys.c is the real one; sys_fake.c (host test builds only)
 * records the calls instead of making them and lets tests choose the machine name, the page
 * size and the errno the kernel "returns". Everything that touches the kernel's kexec state
 * or the machine identity goes through here.
 */
#ifndef KX_SYS_H
#define KX_SYS_H

#include <stddef.h>

/* Same layout as the kernel's struct kexec_segment (buf, bufsz, mem, memsz). */
struct kx_segment {
	const void *buf;
	size_t bufsz;
	unsigned long mem;
	size_t memsz;
};

/* kexec_load(entry, nr, segs, flags); returns 0 or the errno. nr == 0 unloads. */
int kx_kexec_load(unsigned long entry, unsigned long nr, const struct kx_segment *segs,
		  unsigned long flags);
void kx_sync(void);
/* reboot(LINUX_REBOOT_CMD_KEXEC); only returns on failure (or in the fake): the errno or 0. */
int kx_reboot_kexec(void);
/* `uname -m` into buf; returns 0 or the errno. */
int kx_machine(char *buf, size_t cap);
/* The running page size. */
unsigned long kx_page_size(void);
/* open(path, O_RDONLY|O_CLOEXEC|O_NONBLOCK): the fd, or -errno. */
int kx_open(const char *path);
/* Size of the open file (lseek to the end): the size, or -errno (e.g. -ESPIPE for a pipe). */
long kx_file_size(int fd);
/* Read-only private mapping of the first len (> 0) bytes of fd; NULL and *err on failure. */
const void *kx_map(int fd, size_t len, int *err);

#ifdef KX_SEEDS
/* Make [p, p + len) of the kx_map mapping writable (copy-on-write, private): 0 or the errno. */
int kx_make_writable(void *p, size_t len, unsigned long page);
/* Fill buf with len bytes from getrandom(2), looping over short reads: 0 or the errno. */
int kx_getrandom(void *buf, size_t len);
#endif

#endif
