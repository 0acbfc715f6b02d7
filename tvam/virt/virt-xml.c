/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/virt/virt-xml.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tvam/shared/macro.h"

static bool char_in_name_set(char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '.' || c == '-';
}

static bool token_valid(const char *s, size_t max)
{
        size_t n;

        if (!s)
                return false;
        n = strlen(s);
        if (n == 0 || n > max)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!char_in_name_set(s[i]))
                        return false;
        return true;
}

bool virt_name_valid(const char *name)
{
        if (!token_valid(name, VIRT_NAME_MAX))
                return false;
        return strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* 8-4-4-4-12 hex digits (RFC 4122 §3 string representation). */
static bool uuid_valid(const char *s)
{
        if (strlen(s) != 36)
                return false;
        for (size_t i = 0; i < 36; i++) {
                bool dash = i == 8 || i == 13 || i == 18 || i == 23;
                char c = s[i];
                if (dash ? c != '-'
                         : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
                        return false;
        }
        return true;
}

/* An absolute path without control characters: XML 1.0 §2.2 cannot carry
 * most of them at all, and none belongs in a device or log path. */
static bool path_valid(const char *p)
{
        if (!p || p[0] != '/' || strlen(p) > 4096)
                return false;
        for (const unsigned char *c = (const unsigned char *)p; *c; c++)
                if (*c < 0x20 || *c == 0x7f)
                        return false;
        return true;
}

static bool target_valid(const char *t)
{
        return strlen(t) == 3 && t[0] == 'v' && t[1] == 'd' && t[2] >= 'a' && t[2] <= 'z';
}

_printf_(3, 4) static int fail(char *errbuf, size_t size, const char *fmt, ...)
{
        if (errbuf && size > 0) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(errbuf, size, fmt, ap);
                va_end(ap);
        }
        return -EINVAL;
}

int virt_domain_config_check(const struct virt_domain_config *cfg, char *errbuf, size_t errbuf_size)
{
        assert(cfg);

        if (!virt_name_valid(cfg->name))
                return fail(errbuf, errbuf_size, "invalid domain name (allowed: 1-%d of [A-Za-z0-9_.-])",
                        VIRT_NAME_MAX);
        if (cfg->uuid && !uuid_valid(cfg->uuid))
                return fail(errbuf, errbuf_size, "invalid UUID");
        if (cfg->memory_mib < VIRT_MEMORY_MIB_MIN || cfg->memory_mib > VIRT_MEMORY_MIB_MAX)
                return fail(errbuf, errbuf_size, "memory %" PRIu64 " MiB out of range %d-%" PRIu64,
                        cfg->memory_mib, VIRT_MEMORY_MIB_MIN, VIRT_MEMORY_MIB_MAX);
        if (cfg->vcpus < 1 || cfg->vcpus > VIRT_VCPUS_MAX)
                return fail(errbuf, errbuf_size, "%u vCPUs out of range 1-%d", cfg->vcpus, VIRT_VCPUS_MAX);
        if (cfg->n_disks < 1 || cfg->n_disks > VIRT_DISKS_MAX || !cfg->disks)
                return fail(errbuf, errbuf_size, "need 1-%d disks, got %zu", VIRT_DISKS_MAX, cfg->n_disks);
        for (size_t i = 0; i < cfg->n_disks; i++) {
                const struct virt_disk *d = &cfg->disks[i];
                if (!path_valid(d->path))
                        return fail(errbuf, errbuf_size,
                                "disk %zu: not an absolute path without control characters", i);
                if (d->target && !target_valid(d->target))
                        return fail(errbuf, errbuf_size, "disk %zu: invalid target (allowed: vd[a-z])", i);
                if (d->serial && !token_valid(d->serial, VIRT_DISK_SERIAL_MAX))
                        return fail(errbuf, errbuf_size,
                                "disk %zu: invalid serial (allowed: 1-%d of [A-Za-z0-9_.-])", i,
                                VIRT_DISK_SERIAL_MAX);
                for (size_t j = 0; j < i; j++) {
                        char ti[4], tj[4];
                        snprintf(ti, sizeof ti, "vd%c", 'a' + (int)i);
                        snprintf(tj, sizeof tj, "vd%c", 'a' + (int)j);
                        if (strcmp(d->target ?: ti, cfg->disks[j].target ?: tj) == 0)
                                return fail(
                                        errbuf, errbuf_size, "disks %zu and %zu have the same target", j, i);
                }
        }
        if (!path_valid(cfg->serial_log))
                return fail(
                        errbuf, errbuf_size, "serial log: not an absolute path without control characters");
        if (cfg->n_channels > VIRT_CHANNELS_MAX || (cfg->n_channels && !cfg->channels))
                return fail(errbuf, errbuf_size, "need 0-%d channels, got %zu", VIRT_CHANNELS_MAX,
                        cfg->n_channels);
        for (size_t i = 0; i < cfg->n_channels; i++) {
                const struct virt_channel *ch = &cfg->channels[i];
                /* sockaddr_un.sun_path holds 108 bytes with the NUL */
                if (!path_valid(ch->path) || strlen(ch->path) > 107)
                        return fail(errbuf, errbuf_size,
                                "channel %zu: socket path not absolute, too long or with control characters", i);
                if (!token_valid(ch->name, VIRT_NAME_MAX))
                        return fail(errbuf, errbuf_size, "channel %zu: invalid name (allowed: 1-%d of [A-Za-z0-9_.-])",
                                i, VIRT_NAME_MAX);
                for (size_t j = 0; j < i; j++)
                        if (strcmp(ch->name, cfg->channels[j].name) == 0 ||
                                strcmp(ch->path, cfg->channels[j].path) == 0)
                                return fail(errbuf, errbuf_size, "channels %zu and %zu have the same name or path",
                                        j, i);
        }
        switch (cfg->net_type) {
        case VIRT_NET_NONE:
                break;
        case VIRT_NET_NETWORK:
        case VIRT_NET_BRIDGE:
                if (!token_valid(cfg->net_source, VIRT_NAME_MAX))
                        return fail(errbuf, errbuf_size,
                                "invalid network/bridge name (allowed: 1-%d of [A-Za-z0-9_.-])",
                                VIRT_NAME_MAX);
                break;
        default:
                return fail(errbuf, errbuf_size, "unknown network type %d", (int)cfg->net_type);
        }
        return 0;
}

/* XML 1.0 §2.4: '<' and '&' must be escaped in text and attributes; '>' and
 * both quotes are escaped too so the text is safe in either quoting. */
static void put_escaped(FILE *f, const char *s)
{
        for (; *s; s++)
                switch (*s) {
                case '&':
                        fputs("&amp;", f);
                        break;
                case '<':
                        fputs("&lt;", f);
                        break;
                case '>':
                        fputs("&gt;", f);
                        break;
                case '\'':
                        fputs("&apos;", f);
                        break;
                case '"':
                        fputs("&quot;", f);
                        break;
                default:
                        fputc(*s, f);
                }
}

/* fprintf where every %s argument is a (possibly hostile) string that gets
 * escaped: FMT may contain only %s and literal text. */
static void put_xml(FILE *f, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        for (const char *p = fmt; *p; p++) {
                if (p[0] == '%' && p[1] == 's') {
                        put_escaped(f, va_arg(ap, const char *));
                        p++;
                } else
                        fputc(*p, f);
        }
        va_end(ap);
}

static void put_disk(FILE *f, const struct virt_disk *d, size_t index)
{
        char target[4];

        snprintf(target, sizeof target, "vd%c", 'a' + (int)index);
        /* cache='none' io='native': O_DIRECT with Linux AIO, no host page
         * cache copy of the guest's plaintext (libvirt formatdomain "Hard
         * drives": driver cache/io). */
        put_xml(f,
                "    <disk type='block' device='disk'>\n"
                "      <driver name='qemu' type='raw' cache='none' io='native'/>\n"
                "      <source dev='%s'/>\n"
                "      <target dev='%s' bus='virtio'/>\n",
                d->path, d->target ?: target);
        if (d->serial)
                put_xml(f, "      <serial>%s</serial>\n", d->serial);
        if (d->read_only)
                fputs("      <readonly/>\n", f);
        /* Per-device boot order: only the first disk boots (no <os><boot>,
         * no <kernel> direct boot: the image carries its own OS). */
        if (index == 0)
                fputs("      <boot order='1'/>\n", f);
        fputs("    </disk>\n", f);
}

static void put_interface(FILE *f, const struct virt_domain_config *cfg)
{
        if (cfg->net_type == VIRT_NET_NETWORK)
                put_xml(f,
                        "    <interface type='network'>\n"
                        "      <source network='%s'/>\n"
                        "      <model type='virtio'/>\n"
                        "    </interface>\n",
                        cfg->net_source);
        else if (cfg->net_type == VIRT_NET_BRIDGE)
                put_xml(f,
                        "    <interface type='bridge'>\n"
                        "      <source bridge='%s'/>\n"
                        "      <model type='virtio'/>\n"
                        "    </interface>\n",
                        cfg->net_source);
}

int virt_domain_xml(const struct virt_domain_config *cfg, char **ret_xml)
{
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;
        char num[32];
        int r;

        assert(cfg && ret_xml);

        r = virt_domain_config_check(cfg, NULL, 0);
        if (r < 0)
                return r;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        put_xml(f, "<domain type='kvm'>\n  <name>%s</name>\n", cfg->name);
        if (cfg->uuid)
                put_xml(f, "  <uuid>%s</uuid>\n", cfg->uuid);
        snprintf(num, sizeof num, "%" PRIu64, cfg->memory_mib);
        put_xml(f, "  <memory unit='MiB'>%s</memory>\n", num);
        snprintf(num, sizeof num, "%u", cfg->vcpus);
        put_xml(f, "  <vcpu placement='static'>%s</vcpu>\n", num);
        fputs("  <os>\n    <type>hvm</type>\n  </os>\n"
              "  <features>\n    <acpi/>\n    <apic/>\n  </features>\n"
              "  <on_poweroff>destroy</on_poweroff>\n"
              "  <on_reboot>destroy</on_reboot>\n"
              "  <on_crash>destroy</on_crash>\n"
              "  <devices>\n",
                f);
        for (size_t i = 0; i < cfg->n_disks; i++)
                put_disk(f, &cfg->disks[i], i);
        put_interface(f, cfg);
        /* The only character device: a file that TVAM reads.  libvirt adds a
         * <console type='file'> alias of serial0 to the live XML; it is the
         * same file, not a PTY, so nothing interactive reaches the owner. */
        put_xml(f,
                "    <serial type='file'>\n"
                "      <source path='%s'/>\n"
                "      <target port='0'/>\n"
                "    </serial>\n",
                cfg->serial_log);
        /* virtio-serial channels (ENDORSE / GET-ID, docs/protocol.md "VM
         * channel"): QEMU listens on the host socket (libvirt passes
         * server=on,wait=off), a TVAM service connects.  Data pipes to
         * named host services, no console: the box stays closed. */
        for (size_t i = 0; i < cfg->n_channels; i++)
                put_xml(f,
                        "    <channel type='unix'>\n"
                        "      <source mode='bind' path='%s'/>\n"
                        "      <target type='virtio' name='%s'/>\n"
                        "    </channel>\n",
                        cfg->channels[i].path, cfg->channels[i].name);
        fputs("    <controller type='usb' model='none'/>\n"
              "    <video>\n      <model type='none'/>\n    </video>\n"
              "    <memballoon model='none'/>\n"
              "  </devices>\n"
              "</domain>\n",
                f);

        if (ferror(f)) {
                fclose(f);
                return -ENOMEM;
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret_xml = TAKE_PTR(buf);
        return 0;
}

int virt_network_xml(const char *name, const char *bridge, char **ret_xml)
{
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;

        assert(ret_xml);
        if (!name || !virt_name_valid(name) || !bridge || !virt_name_valid(bridge) || strlen(bridge) > 15)
                return -EINVAL;
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        put_xml(f,
                "<network>\n"
                "  <name>%s</name>\n"
                "  <bridge name='%s' stp='off' delay='0'/>\n"
                "</network>\n",
                name, bridge);
        if (ferror(f)) {
                fclose(f);
                return -ENOMEM;
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret_xml = TAKE_PTR(buf);
        return 0;
}
