// SPDX-License-Identifier: GPL-2.0-only
/* smmu-khod device selection: --device vfio expanded through PROBE, refusals. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "khod_internal.h"
#include "pbutil.h"

static const char *const domain_names[] = {
	[SMMU_KHO_DOMAIN_NONE] = "none",
	[SMMU_KHO_DOMAIN_BLOCKED] = "blocked",
	[SMMU_KHO_DOMAIN_IDENTITY] = "identity",
	[SMMU_KHO_DOMAIN_DMA] = "DMA API",
	[SMMU_KHO_DOMAIN_UNMANAGED] = "unmanaged",
	[SMMU_KHO_DOMAIN_NESTED] = "nested",
	[SMMU_KHO_DOMAIN_OTHER] = "other",
};

static const char *domain_name(uint32_t dom)
{
	return dom < sizeof(domain_names) / sizeof(domain_names[0]) ? domain_names[dom] : "other";
}

static int add_choice(Skhopb__Plan *p, const char *dev, bool selected, const char *fmt, ...)
{
	Skhopb__DeviceChoice *c;
	char reason[200];
	va_list ap;

	if (p->n_choices >= SKHOD_MAX_CHOICES) {
		p->nr_unlisted++;
		return 0;
	}
	c = malloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	skhopb__device_choice__init(c);
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	c->selected = selected;
	if (skhod_pb_setstr(&c->device, dev) || skhod_pb_setstr(&c->reason, reason) ||
	    SKHOD_PB_PUSH(&p->choices, &p->n_choices, c)) {
		skhod_pb_free(c);
		return -ENOMEM;
	}
	return 0;
}

static bool plan_has(const Skhopb__Plan *p, const char *dev)
{
	size_t i;

	for (i = 0; i < p->n_devices; i++)
		if (!strcmp(p->devices[i], dev))
			return true;
	return false;
}

/*
 * One device as --device vfio sees it: skipped (counted) unless bound to
 * vfio-pci; selected when bound to vfio-pci and
 * its IOMMU domain is one a user owns (an iommufd HWPT: unmanaged, or
 * nested over a nest-parent); refused (the plan fails) when PRESERVE would
 * refuse it; else left out with the reason.
 */
struct tally {
	size_t bound;		/* devices bound to vfio-pci */
	size_t picked;		/* of them selected */
};

static int choose(Skhopb__Plan *p, const struct smmu_kho_probe_arg *pa, struct tally *t,
		  char *why, size_t wl)
{
	const char *dev = pa->name;
	char *copy;

	if (strcmp(pa->out_driver, "vfio-pci")) {
		p->nr_not_vfio++;
		return 0;
	}
	t->bound++;
	if (pa->out_domain != SMMU_KHO_DOMAIN_UNMANAGED &&
	    pa->out_domain != SMMU_KHO_DOMAIN_NESTED)
		return add_choice(p, dev, false,
				  "bound to vfio-pci, but its IOMMU domain is %s: not attached to an iommufd HWPT",
				  domain_name(pa->out_domain));
	if (pa->out_refuse) {
		snprintf(why, wl, "--device vfio: %.*s (%s); unbind it from vfio-pci or disable the feature",
			 (int)sizeof(pa->out_why), pa->out_why, strerror(-pa->out_refuse));
		return pa->out_refuse;
	}
	t->picked++;
	if (plan_has(p, dev))
		return add_choice(p, dev, true, "named with --device; also bound to vfio-pci, %s domain",
				  domain_name(pa->out_domain));
	copy = strdup(dev);
	if (!copy || SKHOD_PB_PUSH(&p->devices, &p->n_devices, copy)) {
		free(copy);
		return -ENOMEM;
	}
	return add_choice(p, dev, true, "bound to vfio-pci, attached to an iommufd HWPT (%s domain)",
			  domain_name(pa->out_domain));
}

/* --device vfio: append the devices it selects to @p->devices. */
static int expand_vfio(struct skhod *d, Skhopb__Plan *p, char *why, size_t wl)
{
	const struct skhod_backend_ops *ops = d->be->ops;
	struct smmu_kho_probe_arg pa;
	struct tally t = { 0 };
	char (*names)[32];
	size_t n, i;
	int r;

	r = ops->pci_devices(d->be, &names, &n);
	if (r) {
		snprintf(why, wl, "--device vfio: cannot list PCI devices: %s", skhod_be_err(d, r));
		return r;
	}
	for (i = 0; i < n && !r; i++) {
		r = ops->probe(d->be, names[i], &pa);
		if (r == -ENODEV) {
			d->be->err[0] = 0;
			r = 0;	/* removed since the listing */
		} else if (r) {
			snprintf(why, wl, "--device vfio: cannot probe %s: %s", names[i],
				 skhod_be_err(d, r));
		} else {
			r = choose(p, &pa, &t, why, wl);
		}
	}
	free(names);
	if (r)
		return r;
	if (t.picked)
		return 0;
	if (!t.bound)
		snprintf(why, wl, "--device vfio: no PCI device is bound to vfio-pci");
	else
		snprintf(why, wl, "--device vfio: %zu device(s) bound to vfio-pci, none attached to an iommufd HWPT (is the VMM running?)",
			 t.bound);
	return -ENOENT;
}

int skhod_plan_select(struct skhod *d, Skhopb__Plan *p, char *why, size_t wl)
{
	struct smmu_kho_probe_arg pa;
	bool vfio = false;
	size_t i, k;
	int r;

	for (i = k = 0; i < p->n_devices; i++) {
		if (!strcmp(p->devices[i], SKHOD_SELECT_VFIO)) {
			free(p->devices[i]);
			vfio = true;
			continue;
		}
		p->devices[k++] = p->devices[i];
	}
	p->n_devices = k;
	for (i = 0; i < p->n_devices; i++) {
		if (d->be->ops->probe(d->be, p->devices[i], &pa)) {
			d->be->err[0] = 0;	/* PRESERVE names what is wrong */
			continue;
		}
		if (pa.out_refuse) {
			snprintf(why, wl, "%.*s (%s); leave it out of the plan or disable the feature",
				 (int)sizeof(pa.out_why), pa.out_why, strerror(-pa.out_refuse));
			return pa.out_refuse;
		}
	}
	r = vfio ? expand_vfio(d, p, why, wl) : 0;
	if (!r && p->n_devices > SKHOD_MAX_DEVICES) {
		snprintf(why, wl, "%zu devices, at most %d", p->n_devices, SKHOD_MAX_DEVICES);
		r = -EINVAL;
	}
	return r;
}
