// SPDX-License-Identifier: GPL-2.0
/*
 * Simulated nvidia.ko: the test-facing side, /sys/kernel/debug/nvidia_sim/. Counters prove
 * what persistence did (a GPU that stayed initialized has a still init_count); switches
 * inject the faults a real fleet shows (wedged open, failed reset, lost GPU, Xid lines).
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>

#include "nv-sim.h"

static struct dentry *nv_dbg_root;

#define NV_DBG_GETTER(field)                                                                       \
	static int dbg_##field##_get(void *data, u64 *val)                                         \
	{                                                                                          \
		struct nv_gpu *g = data;                                                           \
                                                                                                   \
		*val = READ_ONCE(g->field);                                                        \
		return 0;                                                                          \
	}

NV_DBG_GETTER(init_count)
NV_DBG_GETTER(deinit_count)
NV_DBG_GETTER(reset_count)
NV_DBG_GETTER(users)
NV_DBG_GETTER(initialized)
NV_DBG_GETTER(persistent)
NV_DBG_GETTER(wedged)
NV_DBG_GETTER(lost)
NV_DBG_GETTER(fail_reset)
NV_DBG_GETTER(fabric_reset)

static int dbg_persistent_set(void *data, u64 val)
{
	nv_gpu_set_persistent(data, !!val);
	return 0;
}

static int dbg_wedged_set(void *data, u64 val)
{
	nv_gpu_set_wedged(data, !!val);
	return 0;
}

static int dbg_lost_set(void *data, u64 val)
{
	struct nv_gpu *g = data;

	if (val) {
		nv_gpu_mark_lost(g);
		return 0;
	}
	mutex_lock(&g->lock);
	g->lost = false;
	mutex_unlock(&g->lock);
	return 0;
}

static int dbg_fail_reset_set(void *data, u64 val)
{
	struct nv_gpu *g = data;

	WRITE_ONCE(g->fail_reset, !!val);
	return 0;
}

DEFINE_DEBUGFS_ATTRIBUTE(dbg_init_count_fops, dbg_init_count_get, NULL, "%llu\n");
DEFINE_DEBUGFS_ATTRIBUTE(dbg_deinit_count_fops, dbg_deinit_count_get, NULL, "%llu\n");
DEFINE_DEBUGFS_ATTRIBUTE(dbg_reset_count_fops, dbg_reset_count_get, NULL, "%llu\n");
DEFINE_DEBUGFS_ATTRIBUTE(dbg_users_fops, dbg_users_get, NULL, "%llu\n");
DEFINE_DEBUGFS_ATTRIBUTE(dbg_initialized_fops, dbg_initialized_get, NULL, "%llu\n");
DEFINE_DEBUGFS_ATTRIBUTE(dbg_persistent_fops, dbg_persistent_get, dbg_persistent_set, "%llu\n");
DEFINE_DEBUGFS_ATTRIBUTE(dbg_wedged_fops, dbg_wedged_get, dbg_wedged_set, "%llu\n");
DEFINE_DEBUGFS_ATTRIBUTE(dbg_lost_fops, dbg_lost_get, dbg_lost_set, "%llu\n");
static int dbg_fabric_reset_set(void *data, u64 val)
{
	struct nv_gpu *g = data;

	if (val > 2)
		return -EINVAL;
	WRITE_ONCE(g->fabric_reset, (u32)val);
	return 0;
}

DEFINE_DEBUGFS_ATTRIBUTE(dbg_fabric_reset_fops, dbg_fabric_reset_get, dbg_fabric_reset_set,
			 "%llu\n");
DEFINE_DEBUGFS_ATTRIBUTE(dbg_fail_reset_fops, dbg_fail_reset_get, dbg_fail_reset_set, "%llu\n");

static int dbg_info_show(struct seq_file *s, void *v)
{
	struct nv_gpu *g = s->private;

	seq_printf(s, "bus_id: %s\nuuid: %s\nminor: %u\n", g->bdf, g->uuid, g->minor);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(dbg_info);

/* Reads "<xid> [text]" or, at the top level, "<minor> <xid> [text]". */
static ssize_t dbg_read_line(const char __user *ubuf, size_t len, char *buf, size_t size)
{
	if (len >= size)
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	strim(buf);
	return len;
}

static int dbg_xid_parse(char *buf, unsigned int *ret_xid, const char **ret_text)
{
	char *text = strchr(buf, ' ');

	if (text)
		*text++ = '\0';
	if (kstrtouint(buf, 10, ret_xid))
		return -EINVAL;
	*ret_text = text ? skip_spaces(text) : NULL;
	return 0;
}

static ssize_t dbg_xid_write(struct file *file, const char __user *ubuf, size_t len, loff_t *ppos)
{
	struct nv_gpu *g = file->private_data;
	const char *text;
	unsigned int xid;
	char buf[256];
	ssize_t r;

	r = dbg_read_line(ubuf, len, buf, sizeof(buf));
	if (r < 0)
		return r;
	if (dbg_xid_parse(buf, &xid, &text))
		return -EINVAL;
	nv_gpu_xid(g, xid, text);
	return len;
}

static const struct file_operations dbg_xid_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = dbg_xid_write,
	.llseek = noop_llseek,
};

static ssize_t dbg_inject_xid_write(struct file *file, const char __user *ubuf, size_t len,
				    loff_t *ppos)
{
	unsigned int minor, xid;
	const char *text;
	struct nv_gpu *g;
	char buf[256], *rest;
	ssize_t r;

	r = dbg_read_line(ubuf, len, buf, sizeof(buf));
	if (r < 0)
		return r;
	rest = strchr(buf, ' ');
	if (!rest)
		return -EINVAL;
	*rest++ = '\0';
	if (kstrtouint(buf, 10, &minor) || dbg_xid_parse(skip_spaces(rest), &xid, &text))
		return -EINVAL;
	g = nv_gpu_get(minor);
	if (!g)
		return -ENODEV;
	nv_gpu_xid(g, xid, text);
	nv_gpu_put(g);
	return len;
}

static const struct file_operations dbg_inject_xid_fops = {
	.owner = THIS_MODULE,
	.write = dbg_inject_xid_write,
	.llseek = noop_llseek,
};

void nv_debugfs_add_gpu(struct nv_gpu *g)
{
	struct dentry *d;
	char name[16];

	snprintf(name, sizeof(name), "gpu%u", g->minor);
	d = debugfs_create_dir(name, nv_dbg_root);
	g->debugfs_dir = d;
	debugfs_create_file("info", 0444, d, g, &dbg_info_fops);
	debugfs_create_file_unsafe("init_count", 0444, d, g, &dbg_init_count_fops);
	debugfs_create_file_unsafe("deinit_count", 0444, d, g, &dbg_deinit_count_fops);
	debugfs_create_file_unsafe("reset_count", 0444, d, g, &dbg_reset_count_fops);
	debugfs_create_file_unsafe("users", 0444, d, g, &dbg_users_fops);
	debugfs_create_file_unsafe("initialized", 0444, d, g, &dbg_initialized_fops);
	debugfs_create_file_unsafe("persistent", 0644, d, g, &dbg_persistent_fops);
	debugfs_create_file_unsafe("wedged", 0644, d, g, &dbg_wedged_fops);
	debugfs_create_file_unsafe("lost", 0644, d, g, &dbg_lost_fops);
	debugfs_create_file_unsafe("fail_reset", 0644, d, g, &dbg_fail_reset_fops);
	debugfs_create_file_unsafe("fabric_reset", 0644, d, g, &dbg_fabric_reset_fops);
	debugfs_create_file("xid", 0200, d, g, &dbg_xid_fops);
}

/* Waits for running handlers, so none of them sees a freed GPU. */
void nv_debugfs_remove_gpu(struct nv_gpu *g)
{
	debugfs_remove_recursive(g->debugfs_dir);
	g->debugfs_dir = NULL;
}

void nv_debugfs_init(void)
{
	nv_dbg_root = debugfs_create_dir("nvidia_sim", NULL);
	debugfs_create_u32("init_ms", 0644, nv_dbg_root, &nv_init_ms);
	debugfs_create_file("inject_xid", 0200, nv_dbg_root, NULL, &dbg_inject_xid_fops);
}

struct dentry *nv_debugfs_root(void)
{
	return nv_dbg_root;
}

void nv_debugfs_exit(void)
{
	debugfs_remove_recursive(nv_dbg_root);
}
