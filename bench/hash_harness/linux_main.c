/* Linux user-mode driver of the harness for qemu-user (ppc64le): stdin -> hx_run -> stdout. */
#include "kx.h"

#define HX __attribute__((section(".text.hx")))
#define SYS_READ 3
#define SYS_WRITE 4

struct hx_job {
	u64 offset;
	u64 nreg;
	u64 len[KX_MAX_REGIONS];
};
extern struct hx_job hx_job;
extern u8 hx_out[KX_DIGEST_SIZE];
extern u8 hx_data[];
long hx_syscall(long nr, long a0, long a1, long a2);
void hx_run(void);
int hx_linux_main(void);

HX static int read_all(u8 *p, u64 n)
{
	while (n) {
		long r = hx_syscall(SYS_READ, 0, (long)(uptr)p, (long)n);

		if (r <= 0)
			return -1;
		p += r;
		n -= (u64)r;
	}
	return 0;
}

HX int hx_linux_main(void)
{
	u64 total = 0, i;

	if (read_all((u8 *)&hx_job, sizeof(hx_job)))
		return 2;
	for (i = 0; i < hx_job.nreg && i < KX_MAX_REGIONS; i++)
		total += hx_job.len[i];
	if (total > (2u << 20) || hx_job.offset > 63 || read_all(hx_data + hx_job.offset, total))
		return 3;
	hx_run();
	return hx_syscall(SYS_WRITE, 1, (long)(uptr)hx_out, KX_DIGEST_SIZE) == KX_DIGEST_SIZE ? 0 : 4;
}
