// SPDX-License-Identifier: GPL-2.0-only
/* smmu-khod device selection: --device vfio expansion, ATS/PRI/PASID refusals, plan --dry-run. */
#include <stdio.h>
#include <string.h>

#include "dt_json.h"
#include "dtest.h"

#define HAS(s, sub) ((s) && strstr((s), (sub)))

/*
 * A host with a VM: 02.0 and 04.0 are passed through (vfio-pci, iommufd HWPT:
 * unmanaged / nested), 03.0 is bound to vfio-pci but not attached (blocked),
 * 05.0 has its own driver, 06.0 is vfio-pci on an HWPT with ATS enabled.
 */
#define PCI_VM								\
	"0000:00:02.0 9050000 0x10 driver=vfio-pci domain=unmanaged\n"	\
	"0000:00:03.0 9050000 0x18 driver=vfio-pci domain=blocked\n"	\
	"0000:00:04.0 9050000 0x20 driver=vfio-pci domain=nested\n"	\
	"0000:00:05.0 9050000 0x28 driver=virtio-pci\n"
#define PCI_ATS PCI_VM "0000:00:06.0 9050000 0x30 driver=vfio-pci domain=unmanaged ats\n"

static void plan_dry(struct dt_env *e, struct dt_out *o, const char *devs, const char *json)
{
	dt_ctl(e, o, "plan", "--kernel", e->kernel, "--reuse-cmdline", "--device", devs,
	       "--dry-run", json, NULL);
}

static void vfio_selects_passthrough_devices_and_says_why(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;

	KASSERT(t, !dt_setup(&e, PCI_VM));
	KASSERT(t, !dt_start(&e, NULL, NULL));
	plan_dry(&e, &o, "vfio", NULL);
	KEXPECT_EQ(t, o.code, 0);
	KEXPECT(t, HAS(o.out, "2 device(s)"), "%s", o.out);
	KEXPECT(t, HAS(o.out, "selected: 0000:00:02.0: bound to vfio-pci, attached to an iommufd HWPT (unmanaged domain)"),
		"%s", o.out);
	KEXPECT(t, HAS(o.out, "selected: 0000:00:04.0: bound to vfio-pci, attached to an iommufd HWPT (nested domain)"),
		"%s", o.out);
	KEXPECT(t, HAS(o.out, "excluded: 0000:00:03.0: bound to vfio-pci, but its IOMMU domain is blocked: not attached to an iommufd HWPT"),
		"%s", o.out);
	KEXPECT(t, HAS(o.out, "skipped:  1 PCI device(s) not bound to vfio-pci\n") &&
		!HAS(o.out, "0000:00:05.0"), "%s", o.out);
	dt_out_free(&o);
	plan_dry(&e, &o, "vfio", "--json");
	KEXPECT_EQ(t, o.code, 0);
	KEXPECT(t, dt_json_is(o.out, "devices.0", "\"0000:00:02.0\"") &&
		dt_json_is(o.out, "devices.1", "\"0000:00:04.0\"") &&
		!dt_json_is(o.out, "devices.2", "\"0000:00:03.0\""), "%s", o.out);
	KEXPECT_EQ(t, dt_json_count(o.out, "choices", "selected=true"), 2);
	KEXPECT_EQ(t, dt_json_count(o.out, "choices", "selected=false"), 1);
	KEXPECT(t, dt_json_is(o.out, "nr_not_vfio", "1"), "%s", o.out);
	dt_out_free(&o);
	/* armed for real, the journal holds the expanded list */
	dt_ctl(&e, &o, "update", "--kernel", e.kernel, "--reuse-cmdline", "--device", "vfio",
	       "--no-jump", NULL);
	KEXPECT_EQ(t, o.code, 0);
	dt_out_free(&o);
	dt_ctl(&e, &o, "status", NULL);
	KEXPECT(t, HAS(o.out, "devices 0000:00:02.0 0000:00:04.0\n"), "%s", o.out);
	KEXPECT(t, HAS(o.out, "PRESERVED"), "%s", o.out);
	dt_out_free(&o);
	/* the journal keeps the devices, not the selector's report */
	dt_ctl(&e, &o, "status", "--json", NULL);
	KEXPECT(t, dt_json_is(o.out, "plan.devices.1", "\"0000:00:04.0\"") &&
		!HAS(o.out, "choices"), "%s", o.out);
	dt_out_free(&o);
	dt_cleanup(&e);
}

static void vfio_with_nothing_attached_is_an_invalid_plan(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;

	KASSERT(t, !dt_setup(&e, "0000:00:03.0 9050000 0x18 driver=vfio-pci domain=blocked\n"));
	KASSERT(t, !dt_start(&e, NULL, NULL));
	plan_dry(&e, &o, "vfio", NULL);
	KEXPECT_EQ(t, o.code, 2);
	KEXPECT(t, HAS(o.err, "--device vfio: 1 device(s) bound to vfio-pci, none attached to an iommufd HWPT"),
		"%s", o.err);
	dt_out_free(&o);
	dt_cleanup(&e);
}

static void ats_device_is_refused_with_the_reason(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;

	KASSERT(t, !dt_setup(&e, PCI_ATS));
	KASSERT(t, !dt_start(&e, NULL, NULL));
	/* the selector would pick it: the plan is refused, naming it */
	plan_dry(&e, &o, "vfio", NULL);
	KEXPECT_EQ(t, o.code, 2);
	KEXPECT(t, HAS(o.err, "0000:00:06.0 refused: ATS enabled, the ATC is not handed over"),
		"%s", o.err);
	dt_out_free(&o);
	/* named explicitly: refused as well */
	plan_dry(&e, &o, "0000:00:06.0", NULL);
	KEXPECT_EQ(t, o.code, 2);
	KEXPECT(t, HAS(o.err, "0000:00:06.0 refused: ATS enabled"), "%s", o.err);
	dt_out_free(&o);
	dt_cleanup(&e);
}

static void kernel_refusal_at_preserve_is_shown(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;
	char p[300];
	FILE *f;

	/* armed while PRI was off; enabled before the update preserves */
	KASSERT(t, !dt_setup(&e, PCI_VM));
	KASSERT(t, !dt_start(&e, NULL, NULL));
	dt_ctl(&e, &o, "arm", "--kernel", e.kernel, "--reuse-cmdline", "--device", "vfio", NULL);
	KEXPECT_EQ(t, o.code, 0);
	dt_out_free(&o);
	snprintf(p, sizeof(p), "%s/pci", e.fake);
	f = fopen(p, "w");
	KASSERT(t, f);
	fputs("0000:00:02.0 9050000 0x10 driver=vfio-pci domain=unmanaged pri\n"
	      "0000:00:04.0 9050000 0x20 driver=vfio-pci domain=nested\n", f);
	fclose(f);
	dt_ctl(&e, &o, "update", "--no-jump", NULL);
	KEXPECT_EQ(t, o.code, 7);
	KEXPECT(t, HAS(o.err, "0000:00:02.0 refused: PRI enabled, page requests are not handed over"),
		"%s", o.err);
	dt_out_free(&o);
	dt_ctl(&e, &o, "status", NULL);
	KEXPECT(t, HAS(o.out, "ARMED"), "%s", o.out);
	dt_out_free(&o);
	dt_cleanup(&e);
}

KTEST_MAIN("daemon_select",
	   KTEST_CASE(vfio_selects_passthrough_devices_and_says_why),
	   KTEST_CASE(vfio_with_nothing_attached_is_an_invalid_plan),
	   KTEST_CASE(ats_device_is_refused_with_the_reason),
	   KTEST_CASE(kernel_refusal_at_preserve_is_shown))
