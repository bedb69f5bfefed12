/*
 * kxload: validate a .kxb bundle and hand its segments to kexec_load(2).
 * See loader/README.md for usage, exit codes and the --dry-run output format.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
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
	"usage: kxload [--dry-run | --exec] BUNDLE\n"
	"       kxload --unload\n"
	"       kxload --help\n"
	"\n"
	"Validate the .kxb bundle BUNDLE completely, then load it with kexec_load(2).\n"
	"  --dry-run  validate and print the plan; make no kexec system call\n"
	"  --exec     after loading, sync() and reboot(LINUX_REBOOT_CMD_KEXEC)\n"
	"  --unload   unload the currently loaded kexec image\n"
	"  --help     show this text\n"
	"\n"
	"exit codes:\n"
	"  0  success\n"
	"  1  usage error\n"
	"  2  cannot read the bundle or identify the machine\n"
	"  3  invalid bundle\n"
	"  4  valid bundle, but not for this machine (arch or page size)\n"
	"  5  kexec_load failed (load or unload)\n"
	"  6  reboot failed\n";

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

static size_t slen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

static void out(int fd, struct kx_buf *b)
{
	write_all(fd, b->p, b->len);
}

struct errinfo {
	int num;
	const char *name;
	const char *text;
};

static const struct errinfo errnames[] = {
	{ EPERM, "EPERM", "operation not permitted" },
	{ ENOENT, "ENOENT", "no such file or directory" },
	{ EIO, "EIO", "input/output error" },
	{ EBADF, "EBADF", "bad file descriptor" },
	{ ENOMEM, "ENOMEM", "out of memory" },
	{ EACCES, "EACCES", "permission denied" },
	{ EFAULT, "EFAULT", "bad address" },
	{ EBUSY, "EBUSY", "device or resource busy" },
	{ ENOTDIR, "ENOTDIR", "not a directory" },
	{ EISDIR, "EISDIR", "is a directory" },
	{ EINVAL, "EINVAL", "invalid argument" },
	{ ENODEV, "ENODEV", "no such device" },
	{ ELOOP, "ELOOP", "too many symbolic links" },
	{ ENOSYS, "ENOSYS", "function not implemented" },
	{ EOVERFLOW, "EOVERFLOW", "value too large" },
	{ EADDRNOTAVAIL, "EADDRNOTAVAIL", "address not available" },
	{ EKEYREJECTED, "EKEYREJECTED", "key rejected" },
};

static void put_errno(struct kx_buf *b, int err)
{
	size_t i;

	for (i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (errnames[i].num == err) {
			kx_put_str(b, errnames[i].text);
			kx_put_str(b, " (");
			kx_put_str(b, errnames[i].name);
			kx_put_char(b, ')');
			return;
		}
	kx_put_str(b, "errno ");
	kx_put_dec(b, (uint64_t)err);
}

static char line[1024];

/* "kxload: <what>: " into a fresh buffer */
static void start(struct kx_buf *b, const char *what)
{
	kx_buf_init(b, line, sizeof(line));
	kx_put_str(b, "kxload: ");
	for (; *what; what++)   /* the path as given; control characters shown as '?' */
		kx_put_char(b, (unsigned char)*what < 0x20 || *what == 0x7f ? '?' : *what);
	kx_put_str(b, ": ");
}

static int die(const char *what, const char *reason, int err, int code)
{
	struct kx_buf b;

	start(&b, what);
	kx_put_str(&b, reason);
	if (err) {
		kx_put_str(&b, ": ");
		put_errno(&b, err);
	}
	kx_put_char(&b, '\n');
	out(2, &b);
	return code;
}

static void explain_kexec(struct kx_buf *b, int err)
{
	switch (err) {
	case EPERM:
		kx_put_str(b, "; needs CAP_SYS_BOOT (run as root), and is refused under kernel lockdown "
			      "(/sys/kernel/security/lockdown) or when "
			      "/proc/sys/kernel/kexec_load_disabled is 1");
		break;
	case EADDRNOTAVAIL:
		kx_put_str(b, "; a segment is not page aligned or lies above the kernel's kexec address limit");
		break;
	case EBUSY:
		kx_put_str(b, "; an image is already loaded or a kexec is in progress (run kxload --unload first)");
		break;
	case ENOSYS:
		kx_put_str(b, "; the kernel was built without CONFIG_KEXEC");
		break;
	case EINVAL:
		kx_put_str(b, "; the kernel refused the segment list (count, overlap, a segment larger than "
			      "half of RAM, or an arch flag it does not accept)");
		break;
	case ENOMEM:
		kx_put_str(b, "; the kernel could not allocate memory for the image");
		break;
	case EFAULT:
		kx_put_str(b, "; the kernel could not read a segment buffer");
		break;
	default:
		break;
	}
}

static void put_kv_hex(struct kx_buf *b, const char *key, uint64_t v)
{
	kx_put_str(b, key);
	kx_put_char(b, ' ');
	kx_put_hex(b, v);
	kx_put_char(b, '\n');
}

static void print_plan(const char *path, const struct kxb_plan *p, unsigned long run_page,
		       const char *machine)
{
	struct kx_buf b;
	uint32_t i;

	kx_buf_init(&b, line, sizeof(line));
	kx_put_str(&b, "plan 1\nbundle ");
	kx_put_escaped(&b, path, slen(path));
	kx_put_str(&b, "\narch ");
	kx_put_str(&b, p->arch_name);
	kx_put_char(&b, ' ');
	kx_put_dec(&b, p->arch_code);
	kx_put_char(&b, ' ');
	kx_put_hex(&b, p->kexec_flags);
	kx_put_str(&b, "\nmachine ");
	kx_put_escaped(&b, machine, slen(machine));
	kx_put_char(&b, '\n');
	put_kv_hex(&b, "page_size", p->page_size);
	put_kv_hex(&b, "running_page_size", run_page);
	put_kv_hex(&b, "entry", p->entry);
	put_kv_hex(&b, "flags", p->flags);
	kx_put_str(&b, "verify ");
	kx_put_dec(&b, p->flags & KXB_FLAG_VERIFY);
	kx_put_char(&b, '\n');
	put_kv_hex(&b, "file_size", p->file_size);
	put_kv_hex(&b, "checksum", p->checksum);
	kx_put_str(&b, "segments ");
	kx_put_dec(&b, p->nr_segments);
	kx_put_char(&b, '\n');
	out(1, &b);
	for (i = 0; i < p->nr_segments; i++) {
		const struct kxb_segment *s = &p->seg[i];

		kx_buf_init(&b, line, sizeof(line));
		kx_put_str(&b, "segment ");
		kx_put_dec(&b, i);
		kx_put_char(&b, ' ');
		kx_put_escaped(&b, s->name, s->name_len);
		kx_put_char(&b, ' ');
		kx_put_str(&b, kxb_kind_name(s->kind));
		kx_put_char(&b, ' ');
		kx_put_hex(&b, s->mem);
		kx_put_char(&b, ' ');
		kx_put_hex(&b, s->memsz);
		kx_put_char(&b, ' ');
		kx_put_hex(&b, s->bufsz);
		kx_put_char(&b, ' ');
		kx_put_hex(&b, s->offset);
		kx_put_char(&b, ' ');
		kx_put_hex(&b, s->flags);
		kx_put_char(&b, '\n');
		out(1, &b);
	}
	kx_buf_init(&b, line, sizeof(line));
	kx_put_str(&b, "end\n");
	out(1, &b);
}

static int do_unload(void)
{
	char machine[65];
	unsigned long flags = 0;
	struct kx_buf b;
	int err;

	/* KEXEC_ARCH_DEFAULT (0) if the machine is not one we know; the kernel accepts it. */
	if (kx_machine(machine, sizeof(machine)) == 0)
		flags = kxb_kexec_flags_for_machine(machine);
	err = kx_kexec_load(0, 0, NULL, flags);
	if (err) {
		start(&b, "--unload");
		kx_put_str(&b, "kexec_load (unload) failed: ");
		put_errno(&b, err);
		explain_kexec(&b, err);
		kx_put_char(&b, '\n');
		out(2, &b);
		return EXIT_KEXEC;
	}
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
	struct stat st;
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
			int *flag = NULL;

			if (!__builtin_strcmp(a, "--help")) {
				write_all(1, help_text, sizeof(help_text) - 1);
				return EXIT_OK;
			}
			if (!__builtin_strcmp(a, "--dry-run"))
				flag = &dry_run;
			else if (!__builtin_strcmp(a, "--exec"))
				flag = &exec;
			else if (!__builtin_strcmp(a, "--unload"))
				flag = &unload;
			if (!flag) {
				start(&b, "usage");
				kx_put_str(&b, "unknown option ");
				kx_put_escaped(&b, a, slen(a));
				kx_put_str(&b, " (see kxload --help)\n");
				out(2, &b);
				return EXIT_USAGE;
			}
			*flag = 1;
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

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return die(path, "cannot open", errno, EXIT_READ);
	if (fstat(fd, &st) != 0)
		return die(path, "cannot stat", errno, EXIT_READ);
	if (!S_ISREG(st.st_mode))
		return die(path, "not a regular file", 0, EXIT_READ);
	if (st.st_size == 0) {
		data = empty;
	} else {
		data = kx_map(fd, (size_t)st.st_size, &err);
		if (!data)
			return die(path, "cannot map", err, EXIT_READ);
	}
	err = kx_machine(machine, sizeof(machine));
	if (err)
		return die(path, "cannot read the machine name (uname)", err, EXIT_READ);
	run_page = kx_page_size();

	e = kxb_parse(data, (size_t)st.st_size, run_page, machine, &plan, msg, sizeof(msg));
	if (e != KXB_OK)
		return die(path, msg, 0,
			   e == KXB_E_WRONG_ARCH || e == KXB_E_RUN_PAGE ? EXIT_MACHINE : EXIT_INVALID);
	if (dry_run) {
		print_plan(path, &plan, run_page, machine);
		return EXIT_OK;
	}

	for (k = 0; k < plan.nr_segments; k++) {
		segs[k].buf = data + plan.seg[k].offset;
		segs[k].bufsz = plan.seg[k].bufsz;
		segs[k].mem = plan.seg[k].mem;
		segs[k].memsz = plan.seg[k].memsz;
	}
	err = kx_kexec_load(plan.entry, plan.nr_segments, segs, plan.kexec_flags);
	if (err) {
		start(&b, path);
		kx_put_str(&b, "kexec_load failed: ");
		put_errno(&b, err);
		explain_kexec(&b, err);
		kx_put_char(&b, '\n');
		out(2, &b);
		return EXIT_KEXEC;
	}
	kx_buf_init(&b, line, sizeof(line));
	kx_put_str(&b, "loaded ");
	kx_put_escaped(&b, path, slen(path));
	kx_put_str(&b, ": ");
	kx_put_dec(&b, plan.nr_segments);
	kx_put_str(&b, " segments, entry ");
	kx_put_hex(&b, plan.entry);
	kx_put_char(&b, '\n');
	out(1, &b);
	if (!exec)
		return EXIT_OK;

	kx_sync();
	err = kx_reboot_kexec();
	if (err) {
		start(&b, path);
		kx_put_str(&b, "reboot(LINUX_REBOOT_CMD_KEXEC) failed: ");
		put_errno(&b, err);
		if (err == EPERM)
			kx_put_str(&b, "; needs CAP_SYS_BOOT");
		else if (err == EINVAL)
			kx_put_str(&b, "; no kexec image is loaded");
		kx_put_char(&b, '\n');
		out(2, &b);
		return EXIT_REBOOT;
	}
	return EXIT_OK;
}
