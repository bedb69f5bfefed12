/* Real system-call layer (see sys.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "sys.h"

#ifndef LINUX_REBOOT_CMD_KEXEC
#define LINUX_REBOOT_CMD_KEXEC 0x45584543
#endif

int kx_kexec_load(unsigned long entry, unsigned long nr, const struct kx_segment *segs,
		  unsigned long flags)
{
	if (syscall(SYS_kexec_load, entry, nr, segs, flags) != 0)
		return errno;
	return 0;
}

void kx_sync(void)
{
	sync();
}

int kx_reboot_kexec(void)
{
	reboot(LINUX_REBOOT_CMD_KEXEC);
	return errno ? errno : EINVAL;
}

/* Raw system calls below: the libc wrappers cost more bytes than the 16 KiB budget has. */

int kx_machine(char *buf, size_t cap)
{
	struct utsname u;
	size_t n;

	if (syscall(SYS_uname, &u) != 0)
		return errno;
	for (n = 0; n + 1 < cap && n < sizeof(u.machine) && u.machine[n]; n++)
		buf[n] = u.machine[n];
	buf[n] = '\0';
	return 0;
}

unsigned long kx_page_size(void)
{
	return (unsigned long)getpagesize();
}

int kx_open(const char *path)
{
	long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	return fd < 0 ? -errno : (int)fd;
}

long kx_file_size(int fd)
{
	long size = syscall(SYS_lseek, fd, 0L, SEEK_END);

	return size < 0 ? -errno : size;
}

const void *kx_map(int fd, size_t len, int *err)
{
	long p = syscall(SYS_mmap, NULL, len, PROT_READ, MAP_PRIVATE, fd, 0L);

	if (p == -1) {
		*err = errno;
		return NULL;
	}
	return (const void *)p;
}

#ifdef KX_SEEDS
int kx_make_writable(void *p, size_t len, unsigned long page)
{
	unsigned long a = (unsigned long)p & ~(page - 1);

	if (syscall(SYS_mprotect, a, (unsigned long)p + len - a, PROT_READ | PROT_WRITE) != 0)
		return errno;
	return 0;
}

int kx_getrandom(void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len) {
		long n = syscall(SYS_getrandom, p, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (n == 0)
			return EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
#endif
