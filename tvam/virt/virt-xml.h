/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The closed-box libvirt domain definition (ARCHITECTURE.md "TVAM"; the
 * elements and why each is there: docs/virt.md).  Pure: builds a string,
 * needs no libvirt daemon, so it is unit-tested on its own.
 *
 * Every caller-supplied string is validated first and XML-escaped when
 * written, so no field can add elements (a graphics device, a console, a
 * <kernel>) to the definition.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIRT_NAME_MAX 64
#define VIRT_MEMORY_MIB_MIN 16
#define VIRT_MEMORY_MIB_MAX (UINT64_C(1) << 22) /* 4 TiB */
#define VIRT_VCPUS_MAX 256
#define VIRT_DISKS_MAX 26       /* vda … vdz */
#define VIRT_DISK_SERIAL_MAX 20 /* virtio-blk serial: 20 bytes */

struct virt_disk {
        const char *path;   /* absolute path of the block device (an opened dm device) */
        const char *target; /* guest device name "vd[a-z]"; NULL: vda, vdb, … by position */
        const char *serial; /* optional virtio serial, [A-Za-z0-9_.-]{1,20} */
        bool read_only;
};

#define VIRT_CHANNELS_MAX 4

/* A virtio-serial port (libvirt formatdomain "Channel"): QEMU listens on the
 * host-side Unix socket PATH (mode='bind'); the guest sees the port NAME as
 * /dev/virtio-ports/NAME.  A byte pipe to one host service, not a console. */
struct virt_channel {
        const char *path; /* absolute path of the host-side socket */
        const char *name; /* target name, 1-64 of [A-Za-z0-9_.-], e.g. "org.tvam.endorse.0" */
};

enum virt_net_type {
        VIRT_NET_NONE = 0, /* default: the VM has no network interface */
        VIRT_NET_NETWORK,  /* a named libvirt network */
        VIRT_NET_BRIDGE,   /* an existing host bridge */
};

struct virt_domain_config {
        const char *name; /* [A-Za-z0-9_.-]{1,64} */
        const char *uuid; /* optional, RFC 4122 text form; NULL: libvirt generates one */
        uint64_t memory_mib;
        unsigned vcpus;
        const struct virt_disk *disks; /* at least one; the first is the boot disk */
        size_t n_disks;
        const char *serial_log; /* absolute path: the VM's only serial port writes here */
        enum virt_net_type net_type;
        const char *net_source; /* network or bridge name for VIRT_NET_NETWORK/BRIDGE */
        const struct virt_channel *channels; /* optional virtio-serial ports */
        size_t n_channels;
};

/* [A-Za-z0-9_.-]{1,64}, not "." or "..". */
bool virt_name_valid(const char *name);

/* Check CFG; on failure returns -EINVAL and, if ERRBUF is not NULL, a
 * one-line reason in ERRBUF. */
int virt_domain_config_check(const struct virt_domain_config *cfg, char *errbuf, size_t errbuf_size);

/* The libvirt domain XML for CFG (checked with virt_domain_config_check()
 * first).  *ret_xml is malloc'd.  -EINVAL for an invalid CFG, -ENOMEM. */
int virt_domain_xml(const struct virt_domain_config *cfg, char **ret_xml);

/* An isolated network: a private layer-2 segment on host bridge BRIDGE
 * (1-15 of [A-Za-z0-9_.-]) with no <forward> (no route or NAT to the host's
 * networks), no host address and so no DHCP/DNS server (libvirt's network
 * XML, "Isolated network config").  For application groups (acTvSM AGCLV). */
int virt_network_xml(const char *name, const char *bridge, char **ret_xml);
