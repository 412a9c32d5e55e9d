// SPDX-License-Identifier: GPL-2.0-only
/* smmu-khod plan validation: PCI names, kernel/initrd files, command line. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "khod_internal.h"
#include "pbutil.h"

static bool pci_name_ok(const char *s)
{
	/* DDDD:BB:DD.F, hex, function 0-7 */
	static const char pat[] = "hhhh:hh:hh.f";
	size_t i;

	if (strlen(s) != sizeof(pat) - 1)
		return false;
	for (i = 0; pat[i]; i++) {
		if (pat[i] == 'h' && !isxdigit((unsigned char)s[i]))
			return false;
		if (pat[i] == 'f' && (s[i] < '0' || s[i] > '7'))
			return false;
		if ((pat[i] == ':' || pat[i] == '.') && s[i] != pat[i])
			return false;
	}
	return true;
}

static int file_size(const char *path, uint64_t *size, char *why, size_t wl,
		     const char *what)
{
	struct stat st;

	if (path[0] != '/') {
		snprintf(why, wl, "%s path \"%s\" is not absolute", what, path);
		return -EINVAL;
	}
	if (stat(path, &st) || access(path, R_OK)) {
		snprintf(why, wl, "%s %s: %s", what, path, strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, wl, "%s %s is not a regular file", what, path);
		return -EINVAL;
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

/* Drop "BOOT_IMAGE=..." (set by the boot loader, meaningless for kexec). */
static void strip_boot_image(char *c)
{
	char *p = strstr(c, "BOOT_IMAGE="), *e;

	if (!p || (p != c && p[-1] != ' '))
		return;
	e = strchr(p, ' ');
	memmove(p, e ? e + 1 : p + strlen(p), strlen(e ? e + 1 : p + strlen(p)) + 1);
	while (*c && c[strlen(c) - 1] == ' ')
		c[strlen(c) - 1] = 0;
}

void skhod_plan_drop_choices(Skhopb__Plan *p)
{
	size_t i;

	for (i = 0; i < p->n_choices; i++)
		skhod_pb_free(p->choices[i]);
	free(p->choices);
	p->choices = NULL;
	p->n_choices = 0;
	p->nr_not_vfio = 0;
	p->nr_unlisted = 0;
}

/* Validate @in and return the resolved plan in *@out, or a reason. */
int skhod_plan_resolve(struct skhod *d, const Skhopb__Plan *in, Skhopb__Plan **out,
		       char *why, size_t wl)
{
	Skhopb__Plan *p;
	size_t i, k;
	int r;

	if (!in || !in->kernel[0]) {
		snprintf(why, wl, "the plan names no kernel (--kernel)");
		return -EINVAL;
	}
	if (!in->n_devices && !in->no_device) {
		snprintf(why, wl, "the plan names no device (--device BDF, or --no-device for an update that preserves none)");
		return -EINVAL;
	}
	if (in->n_devices && in->no_device) {
		snprintf(why, wl, "give either --device or --no-device, not both");
		return -EINVAL;
	}
	if (in->n_devices > SKHOD_MAX_DEVICES) {
		snprintf(why, wl, "%zu devices, at most %d", in->n_devices, SKHOD_MAX_DEVICES);
		return -EINVAL;
	}
	if (in->reuse_cmdline && in->cmdline[0]) {
		snprintf(why, wl, "give either --append or --reuse-cmdline, not both");
		return -EINVAL;
	}
	for (i = 0; i < in->n_devices; i++) {
		if (!pci_name_ok(in->devices[i]) && strcmp(in->devices[i], SKHOD_SELECT_VFIO)) {
			snprintf(why, wl, "device \"%.40s\" is not a PCI name like 0000:00:02.0, nor \"" SKHOD_SELECT_VFIO "\"",
				 in->devices[i]);
			return -EINVAL;
		}
		for (k = 0; k < i; k++)
			if (!strcmp(in->devices[k], in->devices[i])) {
				snprintf(why, wl, "device %s listed twice", in->devices[i]);
				return -EINVAL;
			}
	}
	p = skhod_pb_dup(in);
	if (!p)
		return -ENOMEM;
	skhod_plan_drop_choices(p);	/* a client's choices are not ours */
	r = skhod_plan_select(d, p, why, wl);
	if (!r)
		r = file_size(p->kernel, &p->kernel_size, why, wl, "kernel");
	if (!r && p->initrd[0])
		r = file_size(p->initrd, &p->initrd_size, why, wl, "initrd");
	if (!r && p->reuse_cmdline) {
		char c[4096];

		r = d->be->ops->proc_cmdline(d->be, c, sizeof(c));
		if (r)
			snprintf(why, wl, "cannot read the running command line: %s",
				 skhod_be_err(d, r));
		strip_boot_image(c);
		if (!r && skhod_pb_setstr(&p->cmdline, c))
			r = -ENOMEM;
	}
	if (!r && strlen(p->cmdline) >= 4096) {
		snprintf(why, wl, "command line longer than 4095 bytes");
		r = -EINVAL;
	}
	if (r) {
		skhod_pb_free(p);
		return r;
	}
	*out = p;
	return 0;
}
