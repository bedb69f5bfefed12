/*
 * kxload: validate a .kxb bundle and hand its segments to kexec_load(2).
 * See loader/README.md for usage, exit codes and the --dry-run output format.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "bundle.h"
#include "fmt.h"
#include "sys.h"

_Static_assert(sizeof(unsigned long) == 8 && sizeof(size_t) == 8, "kxload is for 64-bit targets");

enum {
	EXIT_OK = 0,
	EXIT_USAGE = 1,
	EXIT_READ = 2,
	EXIT_INVALID = 3,
	EXIT_MACHINE = 4,
	EXIT_KEXEC = 5,
	EXIT_REBOOT = 6,
};

static const char help_text[] =
	"usage: kxload [--dry-run | --exec] BUNDLE | --unload | --help\n"
	"Validate the .kxb BUNDLE, then kexec_load(2) it.\n"
	" --dry-run  validate, print the plan, no kexec syscall\n"
	" --exec     after loading, sync and reboot into it\n"
	" --unload   unload the loaded kexec image\n"
	"exit: 0 ok, 1 usage, 2 cannot read, 3 invalid bundle,\n"
	" 4 not for this machine/loader, 5 kexec_load failed, 6 reboot failed\n";

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

static int streq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

static void out(int fd, struct kx_buf *b)
{
	write_all(fd, b->p, b->len);
}

struct errinfo {
	int num;
	const char *name;
	const char *hint;   /* why kexec_load fails with it, or NULL */
};

static const struct errinfo errs[] = {
	{ EPERM, "EPERM", "needs CAP_SYS_BOOT; also refused under lockdown "
			  "(/sys/kernel/security/lockdown) or if /proc/sys/kernel/kexec_load_disabled is 1" },
	{ EADDRNOTAVAIL, "EADDRNOTAVAIL", "a segment is unaligned or above the kexec address limit" },
	{ EBUSY, "EBUSY", "an image is already loaded (kxload --unload first)" },
	{ ENOSYS, "ENOSYS", "kernel built without CONFIG_KEXEC" },
	{ EINVAL, "EINVAL", "kernel refused the segments (count, overlap, over half of RAM, arch flag)" },
	{ ENOMEM, "ENOMEM", "kernel out of memory for the image" },
	{ EFAULT, "EFAULT", NULL },
	{ ENOENT, "ENOENT", NULL },
	{ EACCES, "EACCES", NULL },
	{ EISDIR, "EISDIR", NULL },
	{ ENODEV, "ENODEV", NULL },
};

/* ": EPERM (errno 1)" and, when hints are wanted and known, "; <hint>" */
static void put_errno(struct kx_buf *b, int err, int hint)
{
	size_t i;

	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
		if (errs[i].num == err) {
			kx_fmt(b, ": %s (errno %d)", errs[i].name, KX_U(err));
			if (hint && errs[i].hint)
				kx_fmt(b, "; %s", errs[i].hint);
			return;
		}
	kx_fmt(b, ": errno %d", KX_U(err));
}

static char line[1024];

/* One error line on stderr: "kxload: <what>: <reason>[: <errno>[; <hint>]]". */
static int report(const char *what, const char *reason, int err, int hint, int code)
{
	struct kx_buf b;

	kx_buf_init(&b, line, sizeof(line));
	kx_put_str(&b, "kxload: ");
	for (; *what; what++)   /* the path as given; control characters shown as '?' */
		kx_put_char(&b, (unsigned char)*what < 0x20 || *what == 0x7f ? '?' : *what);
	kx_fmt(&b, ": %s", reason);
	if (err)
		put_errno(&b, err, hint);
	kx_put_char(&b, '\n');
	out(2, &b);
	return code;
}

static int die(const char *what, const char *reason, int err, int code)
{
	return report(what, reason, err, 0, code);
}

static void print_plan(const char *path, const struct kxb_plan *p, unsigned long run_page,
		       const char *machine)
{
	struct kx_buf b;
	uint32_t i;

	kx_buf_init(&b, line, sizeof(line));
	kx_fmt(&b, "plan 1\nbundle %e\narch %s %d %x\nmachine %e\npage_size %x\n"
		   "running_page_size %x\nentry %x\nflags %x\nverify %d\nfile_size %x\n"
		   "checksum %x\nsegments %d\n",
	       path, p->arch_name, KX_U(p->arch_code), KX_U(p->kexec_flags), machine,
	       p->page_size, KX_U(run_page), p->entry, KX_U(p->flags),
	       KX_U(p->flags & KXB_FLAG_VERIFY), p->file_size, KX_U(p->checksum),
	       KX_U(p->nr_segments));
	out(1, &b);
	for (i = 0; i < p->nr_segments; i++) {
		const struct kxb_segment *s = &p->seg[i];

		kx_buf_init(&b, line, sizeof(line));
		kx_fmt(&b, "segment %d ", KX_U(i));
		kx_put_escaped(&b, s->name, s->name_len);
		kx_fmt(&b, " %s %x %x %x %x %x\n", kxb_kind_name(s->kind), s->mem, s->memsz,
		       s->bufsz, s->offset, KX_U(s->flags));
		out(1, &b);
	}
	write_all(1, "end\n", 4);
}

static int do_unload(void)
{
	char machine[65];
	unsigned long flags = 0;
	int err;

	/* KEXEC_ARCH_DEFAULT (0) if the machine is not one we know; the kernel accepts it. */
	if (kx_machine(machine, sizeof(machine)) == 0)
		flags = kxb_kexec_flags_for_machine(machine);
	err = kx_kexec_load(0, 0, NULL, flags);
	if (err)
		return report("--unload", "kexec_load (unload) failed", err, 1, EXIT_KEXEC);
	return EXIT_OK;
}

static struct kxb_plan plan;
static struct kx_segment segs[KXB_MAX_SEGMENTS];

int main(int argc, char **argv)
{
	int dry_run = 0, exec = 0, unload = 0, opts_done = 0, fd, err = 0, i;
	const char *path = NULL;
	const unsigned char *data;
	static const unsigned char empty[1];
	char machine[65], msg[512];
	unsigned long run_page;
	long size;
	enum kxb_err e;
	struct kx_buf b;
	uint32_t k;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!opts_done && a[0] == '-' && a[1] == '-' && a[2] == '\0') {
			opts_done = 1;
			continue;
		}
		if (!opts_done && a[0] == '-' && a[1]) {
			static const char *const opts[] = { "--help", "--dry-run", "--exec", "--unload" };
			int *flags[] = { NULL, &dry_run, &exec, &unload };
			unsigned o;

			for (o = 0; o < 4 && !streq(opts[o], a); o++)
				;
			if (o == 4)
				return die(a, "unknown option (see kxload --help)", 0, EXIT_USAGE);
			if (o == 0) {
				write_all(1, help_text, sizeof(help_text) - 1);
				return EXIT_OK;
			}
			*flags[o] = 1;
		} else if (path) {
			return die("usage", "more than one BUNDLE given (see kxload --help)", 0, EXIT_USAGE);
		} else {
			path = a;
		}
	}
	if (unload) {
		if (dry_run || exec || path)
			return die("usage", "--unload takes no BUNDLE and no other option", 0, EXIT_USAGE);
		return do_unload();
	}
	if (dry_run && exec)
		return die("usage", "--dry-run and --exec exclude each other", 0, EXIT_USAGE);
	if (!path)
		return die("usage", "no BUNDLE given (see kxload --help)", 0, EXIT_USAGE);

	fd = kx_open(path);
	if (fd < 0)
		return die(path, "cannot open", -fd, EXIT_READ);
	/* The size from lseek: fstat would pull in more of libc than the 16 KiB budget allows.
	 * Pipes fail here (ESPIPE); directories and devices fail at mmap or validation. */
	size = kx_file_size(fd);
	if (size < 0)
		return die(path, "cannot read (seek)", (int)-size, EXIT_READ);
	if (size == 0) {
		data = empty;
	} else {
		data = kx_map(fd, (size_t)size, &err);
		if (!data)
			return die(path, "cannot map", err, EXIT_READ);
	}
	err = kx_machine(machine, sizeof(machine));
	if (err)
		return die(path, "cannot read the machine name (uname)", err, EXIT_READ);
	run_page = kx_page_size();

	e = kxb_parse(data, (size_t)size, run_page, machine, &plan, msg, sizeof(msg));
	if (e != KXB_OK)
		return die(path, msg, 0,
			   e >= KXB_E_WRONG_ARCH && e <= KXB_E_NO_SEEDS ? EXIT_MACHINE : EXIT_INVALID);
	if (dry_run) {
		print_plan(path, &plan, run_page, machine);
		return EXIT_OK;
	}

#ifdef KX_SEEDS
	/* Load-time seeds: fresh random bytes in the (private, copy-on-write) mapping. */
	for (k = 0; k < plan.nr_segments; k++) {
		const struct kxb_segment *s = &plan.seg[k];
		uint32_t f;

		for (f = 0; f < s->nr_fills; f++) {
			unsigned char *p = (unsigned char *)data + s->offset + s->fill_off[f];

			if (!s->fill_len[f])
				continue;
			err = kx_make_writable(p, s->fill_len[f], run_page);
			if (err)
				return die(path, "cannot make the seed bytes writable (mprotect)", err, EXIT_READ);
			err = kx_getrandom(p, s->fill_len[f]);
			if (err)
				return die(path, "cannot fill load-time seeds: getrandom failed", err, EXIT_READ);
		}
	}
#endif
	for (k = 0; k < plan.nr_segments; k++) {
		segs[k].buf = data + plan.seg[k].offset;
		segs[k].bufsz = plan.seg[k].bufsz;
		segs[k].mem = plan.seg[k].mem;
		segs[k].memsz = plan.seg[k].memsz;
	}
	err = kx_kexec_load(plan.entry, plan.nr_segments, segs, plan.kexec_flags);
	if (err)
		return report(path, "kexec_load failed", err, 1, EXIT_KEXEC);
	kx_buf_init(&b, line, sizeof(line));
	kx_fmt(&b, "loaded %e: %d segments, entry %x\n", path, KX_U(plan.nr_segments), plan.entry);
	out(1, &b);
	if (!exec)
		return EXIT_OK;

	kx_sync();
	err = kx_reboot_kexec();
	if (err)
		return die(path, err == EINVAL ? "reboot(LINUX_REBOOT_CMD_KEXEC) failed, no image loaded?"
					       : "reboot(LINUX_REBOOT_CMD_KEXEC) failed", err, EXIT_REBOOT);
	return EXIT_OK;
}
