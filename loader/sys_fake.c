/*
 * Fake system-call layer for host tests (never linked into the real loader).
 *
 * Records every kexec-related call as one line, to the file named by KXLOAD_FAKE_LOG
 * (appended) or to stderr prefixed with "fake: ":
 *   kexec_load entry=0x.. nr=N flags=0x..
 *   segment I buf_offset=0x.. bufsz=0x.. mem=0x.. memsz=0x..   (offset from the mapping)
 *   sync
 *   reboot cmd=0x45584543
 * Environment knobs:
 *   KXLOAD_TEST_MACHINE       `uname -m` to report (default: the real one)
 *   KXLOAD_TEST_PAGESIZE      page size to report, decimal or 0x-hex (default: the real one)
 *   KXLOAD_FAKE_KEXEC_ERRNO   errno kexec_load fails with (default 0: success)
 *   KXLOAD_FAKE_REBOOT_ERRNO  errno reboot fails with (default 0: "rebooted", returns)
 *   KXLOAD_FAKE_GETRANDOM_ERRNO  errno getrandom fails with (default 0: real getrandom)
 *   KXLOAD_FAKE_DUMP          directory: kexec_load writes each segment's buffer to
 *                             DIR/segment-<i>.bin (what the kernel would copy)
 * Seeds: getrandom calls are recorded as "getrandom len=N" (the bytes are not).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "fmt.h"
#include "sys.h"

static const unsigned char *map_base;

static void record(const char *line)
{
	const char *path = getenv("KXLOAD_FAKE_LOG");
	int fd = 2;

	if (path && *path) {
		fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0)
			abort();
	} else if (write(fd, "fake: ", 6) < 0) {
		abort();
	}
	if (write(fd, line, strlen(line)) < 0 || write(fd, "\n", 1) < 0)
		abort();
	if (fd != 2)
		close(fd);
}

static unsigned long env_num(const char *name, unsigned long dflt)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 0) : dflt;
}

static void dump(unsigned long i, const struct kx_segment *seg)
{
	const char *dir = getenv("KXLOAD_FAKE_DUMP");
	char path[4096];
	struct kx_buf b;
	int fd;

	if (!dir || !*dir)
		return;
	kx_buf_init(&b, path, sizeof(path));
	kx_fmt(&b, "%s/segment-%d.bin", dir, KX_U(i));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || (seg->bufsz && write(fd, seg->buf, seg->bufsz) != (ssize_t)seg->bufsz))
		abort();
	close(fd);
}

int kx_kexec_load(unsigned long entry, unsigned long nr, const struct kx_segment *segs,
		  unsigned long flags)
{
	char line[256];
	struct kx_buf b;
	unsigned long i;

	kx_buf_init(&b, line, sizeof(line));
	kx_put_str(&b, "kexec_load entry=");
	kx_put_hex(&b, entry);
	kx_put_str(&b, " nr=");
	kx_put_dec(&b, nr);
	kx_put_str(&b, " flags=");
	kx_put_hex(&b, flags);
	record(line);
	for (i = 0; i < nr; i++) {
		kx_buf_init(&b, line, sizeof(line));
		kx_put_str(&b, "segment ");
		kx_put_dec(&b, i);
		kx_put_str(&b, " buf_offset=");
		kx_put_hex(&b, (uint64_t)((const unsigned char *)segs[i].buf - map_base));
		kx_put_str(&b, " bufsz=");
		kx_put_hex(&b, segs[i].bufsz);
		kx_put_str(&b, " mem=");
		kx_put_hex(&b, segs[i].mem);
		kx_put_str(&b, " memsz=");
		kx_put_hex(&b, segs[i].memsz);
		record(line);
		dump(i, &segs[i]);
	}
	return (int)env_num("KXLOAD_FAKE_KEXEC_ERRNO", 0);
}

void kx_sync(void)
{
	record("sync");
}

int kx_reboot_kexec(void)
{
	record("reboot cmd=0x45584543");
	return (int)env_num("KXLOAD_FAKE_REBOOT_ERRNO", 0);
}

int kx_machine(char *buf, size_t cap)
{
	const char *m = getenv("KXLOAD_TEST_MACHINE");
	struct utsname u;
	size_t n;

	if (!m) {
		if (uname(&u) != 0)
			return errno;
		m = u.machine;
	}
	n = strlen(m);
	if (n >= cap)
		n = cap - 1;
	memcpy(buf, m, n);
	buf[n] = '\0';
	return 0;
}

unsigned long kx_page_size(void)
{
	return env_num("KXLOAD_TEST_PAGESIZE", (unsigned long)getpagesize());
}

int kx_open(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	return fd < 0 ? -errno : fd;
}

long kx_file_size(int fd)
{
	off_t size = lseek(fd, 0, SEEK_END);

	return size < 0 ? -errno : (long)size;
}

const void *kx_map(int fd, size_t len, int *err)
{
	void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);

	if (p == MAP_FAILED) {
		*err = errno;
		return NULL;
	}
	map_base = p;
	return p;
}

int kx_make_writable(void *p, size_t len, unsigned long page)
{
	unsigned long a = (unsigned long)p & ~(page - 1);

	if (mprotect((void *)a, (unsigned long)p + len - a, PROT_READ | PROT_WRITE) != 0)
		return errno;
	return 0;
}

int kx_getrandom(void *buf, size_t len)
{
	char line[64];
	struct kx_buf b;
	unsigned char *p = buf;
	int err = (int)env_num("KXLOAD_FAKE_GETRANDOM_ERRNO", 0);

	kx_buf_init(&b, line, sizeof(line));
	kx_fmt(&b, "getrandom len=%d", KX_U(len));
	record(line);
	if (err)
		return err;
	while (len) {
		long n = syscall(SYS_getrandom, p, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
