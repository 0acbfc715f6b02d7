/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tvam-disk-layout — apply the platform disk layout to an empty disk.
 *
 * parse → inspect → plan → (refuse | apply) → report.  The disk gets a GPT
 * with a BIOS boot partition, the /boot partition (FAT32, EFI System type so
 * that both BIOS GRUB and UEFI firmware read it) and an LVM physical volume
 * holding base-1, store and log (ARCHITECTURE.md "Disk layout").  A disk that
 * holds data is refused unless --force; --dry-run only prints the plan.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <libfdisk/libfdisk.h>

#include "disk-layout/layout.h"
#include "tvam/shared/fileio.h"
#include "tvam/shared/log.h"
#include "tvam/shared/process.h"
#include "tvam/storage/lvm.h"

#define MIB (UINT64_C(1) << 20)
#define PROBE_BYTES (2 * MIB) /* where partition tables, LVM labels, LUKS and fs superblocks live */

/* GPT partition type GUIDs (UEFI 2.10 §5.3.3; the BIOS boot GUID is GRUB's). */
#define GUID_BIOS_BOOT "21686148-6449-6E6F-744E-656564454649"
#define GUID_EFI_SYSTEM "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
#define GUID_LINUX_LVM "E6D6D379-F507-44C2-A23C-238F2A3DF928"

struct options {
        const char *layout_path;
        const char *disk;
        bool dry_run;
        bool force;
        bool json;
};

struct disk_info {
        uint64_t size;
        bool is_block;
        bool holds_data;
        uint64_t first_data_offset;
};

struct lv_plan {
        const char *name;
        uint64_t size;
        enum lvm_role role;
        const char *mkfs; /* NULL: left raw */
};

static void help(void)
{
        printf("Usage: tvam-disk-layout [OPTIONS] --layout FILE DISK\n"
               "\n"
               "Partition an empty DISK for the TVAM platform and create its volume group\n"
               "and logical volumes as FILE declares (see disk-layout/default.layout).\n"
               "\n"
               "Options:\n"
               "  -l, --layout FILE  the layout to apply (required)\n"
               "  -n, --dry-run      print what would be done; change nothing\n"
               "  -f, --force        overwrite a disk that holds data (DESTROYS it)\n"
               "      --json         print the plan and the result as JSON\n"
               "  -h, --help         show this help\n"
               "\n"
               "Exit status: 0 done (or planned), 1 refused or failed, 2 usage error.\n");
}

static int parse_argv(int argc, char **argv, struct options *o)
{
        enum { ARG_JSON = 0x100 };
        static const struct option long_options[] = {
                { "layout", required_argument, NULL, 'l' },
                { "dry-run", no_argument, NULL, 'n' },
                { "force", no_argument, NULL, 'f' },
                { "json", no_argument, NULL, ARG_JSON },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "l:nfh", long_options, NULL)) >= 0)
                switch (c) {
                case 'l':
                        o->layout_path = optarg;
                        break;
                case 'n':
                        o->dry_run = true;
                        break;
                case 'f':
                        o->force = true;
                        break;
                case ARG_JSON:
                        o->json = true;
                        break;
                case 'h':
                        help();
                        exit(EXIT_SUCCESS);
                default:
                        return -EINVAL;
                }
        if (optind != argc - 1 || !o->layout_path) {
                fprintf(stderr, "tvam-disk-layout: need --layout FILE and exactly one DISK (see --help)\n");
                return -EINVAL;
        }
        o->disk = argv[optind];
        return 0;
}

static int inspect_disk(const char *path, struct disk_info *ret)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ uint8_t *buf = NULL;
        struct disk_info info = {};
        struct stat st;
        size_t want, got = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISBLK(st.st_mode)) {
                if (ioctl(fd, BLKGETSIZE64, &info.size) < 0)
                        return -errno;
                info.is_block = true;
        } else if (S_ISREG(st.st_mode))
                info.size = (uint64_t)st.st_size;
        else
                return -ENOTBLK;

        /* Anything non-zero where partition tables, LVM labels, LUKS headers
         * or file-system superblocks live means the disk is in use. */
        want = info.size < PROBE_BYTES ? (size_t)info.size : PROBE_BYTES;
        buf = malloc(want ? want : 1);
        if (!buf)
                return -ENOMEM;
        while (got < want) {
                ssize_t n = pread(fd, buf + got, want - got, (off_t)got);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                got += (size_t)n;
        }
        for (size_t i = 0; i < got; i++)
                if (buf[i] != 0) {
                        info.holds_data = true;
                        info.first_data_offset = i;
                        break;
                }

        *ret = info;
        return 0;
}

static void plan_lvs(const struct layout *l, struct lv_plan lvs[3])
{
        lvs[0] = (struct lv_plan){ "base-1", l->base_size, LVM_ROLE_BASE, NULL };
        lvs[1] = (struct lv_plan){ "store", l->store_size, LVM_ROLE_STORE, "ext4" };
        lvs[2] = (struct lv_plan){ "log", l->log_size, LVM_ROLE_LOG, "ext4" };
}

static void partition_path(const char *disk, unsigned partno, char *buf, size_t size)
{
        size_t len = strlen(disk);
        /* /dev/vda → /dev/vda3, /dev/loop0 → /dev/loop0p3, /dev/nvme0n1 → …p3 */
        bool digit_end = len > 0 && disk[len - 1] >= '0' && disk[len - 1] <= '9';
        snprintf(buf, size, "%s%s%u", disk, digit_end ? "p" : "", partno);
}

static void print_plan(const struct options *o, const struct layout *l, const struct disk_info *d)
{
        struct lv_plan lvs[3];

        plan_lvs(l, lvs);
        printf("Disk %s: %" PRIu64 " MiB%s\n", o->disk, d->size / MIB,
                d->holds_data ? " — HOLDS DATA" : ", empty");
        printf("  GPT partition 1  %8" PRIu64 " MiB  BIOS boot (GRUB core image)\n", UINT64_C(1));
        printf("  GPT partition 2  %8" PRIu64 " MiB  /boot, FAT32 'TVAMBOOT' (EFI System type)\n",
                l->boot_size / MIB);
        printf("  GPT partition 3  %8" PRIu64 " MiB  LVM physical volume, volume group '%s':\n",
                (d->size - 3 * MIB - l->boot_size) / MIB, l->vg);
        for (int i = 0; i < 3; i++)
                printf("    LV %-8s %8" PRIu64 " MiB  tag %-11s %s\n", lvs[i].name, lvs[i].size / MIB,
                        lvm_role_to_tag(lvs[i].role), lvs[i].mkfs ? "ext4" : "raw (LUKS2 later)");
}

static json_object *plan_json(const struct options *o, const struct layout *l, const struct disk_info *d,
        bool applied)
{
        json_object *root = json_object_new_object(), *parts = json_object_new_array(),
                    *lvs_json = json_object_new_array();
        struct lv_plan lvs[3];
        static const char *const part_roles[] = { "bios-boot", "boot", "lvm" };

        plan_lvs(l, lvs);
        json_object_object_add(root, "disk", json_object_new_string(o->disk));
        json_object_object_add(root, "size_bytes", json_object_new_uint64(d->size));
        json_object_object_add(root, "holds_data", json_object_new_boolean(d->holds_data));
        json_object_object_add(root, "dry_run", json_object_new_boolean(o->dry_run));
        json_object_object_add(root, "applied", json_object_new_boolean(applied));
        for (unsigned i = 0; i < 3; i++) {
                json_object *p = json_object_new_object();
                char path[256];
                partition_path(o->disk, i + 1, path, sizeof(path));
                json_object_object_add(p, "number", json_object_new_int((int)i + 1));
                json_object_object_add(p, "role", json_object_new_string(part_roles[i]));
                json_object_object_add(p, "device", json_object_new_string(path));
                json_object_array_add(parts, p);
        }
        json_object_object_add(root, "partitions", parts);
        json_object_object_add(root, "vg", json_object_new_string(l->vg));
        for (int i = 0; i < 3; i++) {
                json_object *lv = json_object_new_object();
                json_object_object_add(lv, "name", json_object_new_string(lvs[i].name));
                json_object_object_add(lv, "size_bytes", json_object_new_uint64(lvs[i].size));
                json_object_object_add(lv, "tag", json_object_new_string(lvm_role_to_tag(lvs[i].role)));
                json_object_object_add(lv, "filesystem", json_object_new_string(lvs[i].mkfs ? lvs[i].mkfs : "none"));
                json_object_array_add(lvs_json, lv);
        }
        json_object_object_add(root, "lvs", lvs_json);
        return root;
}

/* Zero the first and last PROBE_BYTES so no stale signature (an old GPT
 * backup, an LVM label, a LUKS header) survives under --force. */
static int wipe_signatures(const char *disk, uint64_t size)
{
        _cleanup_close_ int fd = open(disk, O_WRONLY | O_CLOEXEC);
        _cleanup_free_ uint8_t *zero = calloc(1, PROBE_BYTES);
        int r;

        if (fd < 0)
                return -errno;
        if (!zero)
                return -ENOMEM;
        if (pwrite(fd, zero, PROBE_BYTES, 0) != (ssize_t)PROBE_BYTES)
                return -errno ? -errno : -EIO;
        if (pwrite(fd, zero, PROBE_BYTES, (off_t)(size - PROBE_BYTES)) != (ssize_t)PROBE_BYTES)
                return -errno ? -errno : -EIO;
        r = fsync(fd) < 0 ? -errno : 0;
        return r;
}

static int add_partition(struct fdisk_context *cxt, size_t partno, uint64_t start, uint64_t sectors,
        const char *guid, const char *name)
{
        struct fdisk_label *label = fdisk_get_label(cxt, NULL);
        struct fdisk_partition *pa = fdisk_new_partition();
        struct fdisk_parttype *type = fdisk_label_get_parttype_from_string(label, guid);
        int r;

        if (!pa || !type) {
                fdisk_unref_partition(pa);
                return pa ? -EINVAL : -ENOMEM;
        }
        fdisk_partition_set_partno(pa, partno);
        fdisk_partition_set_start(pa, start);
        if (sectors)
                fdisk_partition_set_size(pa, sectors);
        else
                fdisk_partition_end_follow_default(pa, 1); /* to the end of the disk */
        fdisk_partition_set_type(pa, type);
        fdisk_partition_set_name(pa, name);
        r = fdisk_add_partition(cxt, pa, NULL);
        fdisk_unref_partition(pa);
        return r;
}

static int write_partition_table(const char *disk, const struct layout *l)
{
        struct fdisk_context *cxt = fdisk_new_context();
        uint64_t sector, mib_sectors;
        int r;

        if (!cxt)
                return -ENOMEM;
        r = fdisk_assign_device(cxt, disk, 0);
        if (r < 0)
                goto out;
        sector = fdisk_get_sector_size(cxt);
        mib_sectors = MIB / sector;
        r = fdisk_create_disklabel(cxt, "gpt");
        if (r < 0)
                goto out;
        r = add_partition(cxt, 0, mib_sectors, mib_sectors, GUID_BIOS_BOOT, "tvam-bios-boot");
        if (r < 0)
                goto out;
        r = add_partition(cxt, 1, 2 * mib_sectors, l->boot_size / sector, GUID_EFI_SYSTEM, "tvam-boot");
        if (r < 0)
                goto out;
        r = add_partition(cxt, 2, 2 * mib_sectors + l->boot_size / sector, 0, GUID_LINUX_LVM, "tvam-lvm");
        if (r < 0)
                goto out;
        r = fdisk_write_disklabel(cxt);
        if (r < 0)
                goto out;
        /* Let the kernel see the new partitions (BLKRRPART); devtmpfs then
         * creates their nodes even without udev. */
        r = fdisk_reread_partition_table(cxt);
out:
        fdisk_deassign_device(cxt, r < 0);
        fdisk_unref_context(cxt);
        return r;
}

static int wait_for_node(const char *path)
{
        for (int i = 0; i < 100; i++) {
                if (access(path, F_OK) == 0)
                        return 0;
                usleep(50 * 1000);
        }
        return -ENOENT;
}

static int apply(const struct options *o, const struct layout *l)
{
        _cleanup_(lvm_ctx_freep) struct lvm_ctx *lvm = NULL;
        char boot[256], pv[256];
        struct lv_plan lvs[3];
        struct disk_info d;
        int r;

        r = inspect_disk(o->disk, &d);
        if (r < 0)
                return log_error_errno(r, "Failed to inspect %s", o->disk);
        r = wipe_signatures(o->disk, d.size);
        if (r < 0)
                return log_error_errno(r, "Failed to wipe old signatures on %s", o->disk);
        r = write_partition_table(o->disk, l);
        if (r < 0)
                return log_error_errno(r, "Failed to write the partition table of %s", o->disk);

        partition_path(o->disk, 2, boot, sizeof(boot));
        partition_path(o->disk, 3, pv, sizeof(pv));
        if (wait_for_node(boot) < 0 || wait_for_node(pv) < 0)
                return log_error_errno(-ENOENT, "Partitions %s and %s did not appear", boot, pv);

        {
                const char *const mkfs_boot[] = { "mkfs.vfat", "-F", "32", "-n", "TVAMBOOT", boot, NULL };
                r = spawn_wait(mkfs_boot, true, NULL);
                if (r < 0)
                        return log_error_errno(r, "Failed to create the FAT32 file system on %s", boot);
        }

        r = lvm_ctx_new(&lvm);
        if (r < 0)
                return log_error_errno(r, "Failed to initialise LVM");
        r = lvm_pv_create(lvm, pv);
        if (r < 0)
                return log_error_errno(r, "Failed to create the physical volume %s: %s", pv, lvm_last_error(lvm));
        r = lvm_vg_create(lvm, l->vg, pv);
        if (r < 0)
                return log_error_errno(r, "Failed to create volume group '%s': %s", l->vg, lvm_last_error(lvm));

        plan_lvs(l, lvs);
        for (int i = 0; i < 3; i++) {
                char lv_path[300];

                r = lvm_lv_create(lvm, l->vg, lvs[i].name, lvs[i].size, lvs[i].role);
                if (r < 0)
                        return log_error_errno(r, "Failed to create LV %s/%s: %s", l->vg, lvs[i].name,
                                lvm_last_error(lvm));
                if (!lvs[i].mkfs)
                        continue;
                snprintf(lv_path, sizeof(lv_path), "/dev/%s/%s", l->vg, lvs[i].name);
                const char *const mkfs[] = { "mkfs.ext4", "-q", "-F", "-L", lvs[i].name, lv_path, NULL };
                r = spawn_wait(mkfs, true, NULL);
                if (r < 0)
                        return log_error_errno(r, "Failed to create the ext4 file system on %s", lv_path);
        }
        return 0;
}

int main(int argc, char **argv)
{
        struct options o = {};
        _cleanup_free_ uint8_t *text = NULL;
        struct layout_error error = {};
        struct layout layout;
        struct disk_info disk;
        size_t size;
        int r;

        log_set_program_name("tvam-disk-layout");
        log_parse_environment();

        if (parse_argv(argc, argv, &o) < 0)
                return 2;

        /* parse */
        r = read_full_file(o.layout_path, 64 * 1024, &text, &size);
        if (r < 0) {
                log_error_errno(r, "Failed to read layout %s", o.layout_path);
                return 1;
        }
        r = layout_parse((const char *)text, &layout, &error);
        if (r < 0) {
                if (error.line)
                        log_error("Invalid layout %s:%u: %s", o.layout_path, error.line, error.message);
                else
                        log_error("Invalid layout %s: %s", o.layout_path, error.message);
                return 1;
        }

        /* inspect */
        r = inspect_disk(o.disk, &disk);
        if (r < 0) {
                log_error_errno(r, "Failed to inspect disk %s", o.disk);
                return 1;
        }
        if (disk.size < layout_required_bytes(&layout)) {
                log_error("Disk %s has %" PRIu64 " MiB, the layout needs %" PRIu64 " MiB", o.disk, disk.size / MIB,
                        layout_required_bytes(&layout) / MIB);
                return 1;
        }

        /* plan */
        if (!o.json)
                print_plan(&o, &layout, &disk);

        /* refuse */
        if (disk.holds_data && !o.force && !o.dry_run) {
                log_error("Refusing to touch %s: it holds data (first non-zero byte at offset %" PRIu64
                          "); use --force to destroy it",
                        o.disk, disk.first_data_offset);
                return 1;
        }
        if (!o.dry_run && !disk.is_block) {
                log_error("%s is not a block device: the volume group needs one (use a loop device)", o.disk);
                return 1;
        }

        /* act */
        if (!o.dry_run) {
                r = apply(&o, &layout);
                if (r < 0)
                        return 1;
        }

        /* report */
        if (o.json) {
                json_object *j = plan_json(&o, &layout, &disk, !o.dry_run);
                printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY));
                json_object_put(j);
        } else
                printf(o.dry_run ? "Dry run: nothing was changed%s.\n" : "Done%s.\n",
                        disk.holds_data && o.dry_run ? " (the disk holds data: applying needs --force)" : "");
        return 0;
}
