/* Real system-call layer (see sys.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
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

int kx_machine(char *buf, size_t cap)
{
	struct utsname u;
	size_t n;

	if (uname(&u) != 0)
		return errno;
	n = strnlen(u.machine, sizeof(u.machine));
	if (n >= cap)
		n = cap - 1;
	memcpy(buf, u.machine, n);
	buf[n] = '\0';
	return 0;
}

unsigned long kx_page_size(void)
{
	return (unsigned long)getpagesize();
}

const void *kx_map(int fd, size_t len, int *err)
{
	void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);

	if (p == MAP_FAILED) {
		*err = errno;
		return NULL;
	}
	return p;
}
