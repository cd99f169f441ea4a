// SPDX-License-Identifier: GPL-2.0
//
// 网页防篡改, blocking mode: a BPF LSM program that denies writes, creates,
// renames, unlinks, links, symlinks, mkdir/rmdir, truncates and attribute
// changes (chmod, chown) on the inodes of sealed web roots, to every process
// except the ones Shouwang allows (its own publish and restore path).
//
// Inodes are identified by (kernel dev_t, inode number) in the `protected`
// map, which userspace fills from the baseline; directories are in it too,
// so that nothing new can be created inside them. Struct layouts come from
// the running kernel's BTF (CO-RE), so no vmlinux.h is needed: only the
// fields read here are declared.

#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define EPERM 1
#define FMODE_WRITE 0x2

typedef unsigned int u32;
typedef unsigned short umode_t;

struct super_block {
    u32 s_dev;
} __attribute__((preserve_access_index));

struct inode {
    unsigned long i_ino;
    struct super_block *i_sb;
} __attribute__((preserve_access_index));

struct dentry {
    struct inode *d_inode;
} __attribute__((preserve_access_index));

struct file {
    struct inode *f_inode;
    unsigned int f_mode;
} __attribute__((preserve_access_index));

struct path {
    void *mnt;
    struct dentry *dentry;
} __attribute__((preserve_access_index));

struct mnt_idmap;
struct iattr;

struct inode_key {
    __u64 ino;
    __u32 dev;
    __u32 pad;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4194304);
    __type(key, struct inode_key);
    __type(value, __u8);
} protected SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, __u8);
} allowed SEC(".maps");

// Denials, for the console and the tests: index 0 counts them.
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} denied SEC(".maps");

static __always_inline int is_protected(struct inode *inode)
{
    struct inode_key k = {};
    if (!inode)
        return 0;
    k.ino = BPF_CORE_READ(inode, i_ino);
    k.dev = BPF_CORE_READ(inode, i_sb, s_dev);
    return bpf_map_lookup_elem(&protected, &k) != 0;
}

static __always_inline int dentry_protected(struct dentry *d)
{
    if (!d)
        return 0;
    return is_protected(BPF_CORE_READ(d, d_inode));
}

static __always_inline int deny(void)
{
    __u32 tgid = bpf_get_current_pid_tgid() >> 32;
    __u32 zero = 0;
    __u64 *n;
    if (bpf_map_lookup_elem(&allowed, &tgid))
        return 0;
    n = bpf_map_lookup_elem(&denied, &zero);
    if (n)
        __sync_fetch_and_add(n, 1);
    return -EPERM;
}

SEC("lsm/file_open")
int BPF_PROG(file_open, struct file *file, int ret)
{
    if (ret)
        return ret;
    if (!(BPF_CORE_READ(file, f_mode) & FMODE_WRITE))
        return 0;
    return is_protected(BPF_CORE_READ(file, f_inode)) ? deny() : 0;
}

SEC("lsm/inode_create")
int BPF_PROG(inode_create, struct inode *dir, struct dentry *dentry, umode_t mode, int ret)
{
    if (ret)
        return ret;
    return is_protected(dir) ? deny() : 0;
}

SEC("lsm/inode_mkdir")
int BPF_PROG(inode_mkdir, struct inode *dir, struct dentry *dentry, umode_t mode, int ret)
{
    if (ret)
        return ret;
    return is_protected(dir) ? deny() : 0;
}

SEC("lsm/inode_symlink")
int BPF_PROG(inode_symlink, struct inode *dir, struct dentry *dentry, const char *name, int ret)
{
    if (ret)
        return ret;
    return is_protected(dir) ? deny() : 0;
}

SEC("lsm/inode_link")
int BPF_PROG(inode_link, struct dentry *old_dentry, struct inode *dir, struct dentry *new_dentry, int ret)
{
    if (ret)
        return ret;
    return (is_protected(dir) || dentry_protected(old_dentry)) ? deny() : 0;
}

SEC("lsm/inode_unlink")
int BPF_PROG(inode_unlink, struct inode *dir, struct dentry *dentry, int ret)
{
    if (ret)
        return ret;
    return (is_protected(dir) || dentry_protected(dentry)) ? deny() : 0;
}

SEC("lsm/inode_rmdir")
int BPF_PROG(inode_rmdir, struct inode *dir, struct dentry *dentry, int ret)
{
    if (ret)
        return ret;
    return (is_protected(dir) || dentry_protected(dentry)) ? deny() : 0;
}

SEC("lsm/inode_rename")
int BPF_PROG(inode_rename, struct inode *old_dir, struct dentry *old_dentry,
             struct inode *new_dir, struct dentry *new_dentry, unsigned int flags, int ret)
{
    if (ret)
        return ret;
    if (is_protected(old_dir) || is_protected(new_dir) || dentry_protected(old_dentry) ||
        dentry_protected(new_dentry))
        return deny();
    return 0;
}

SEC("lsm/inode_setattr")
int BPF_PROG(inode_setattr, struct mnt_idmap *idmap, struct dentry *dentry, struct iattr *attr, int ret)
{
    if (ret)
        return ret;
    return dentry_protected(dentry) ? deny() : 0;
}

SEC("lsm/path_truncate")
int BPF_PROG(path_truncate, const struct path *path, int ret)
{
    if (ret)
        return ret;
    return dentry_protected(BPF_CORE_READ(path, dentry)) ? deny() : 0;
}

char LICENSE[] SEC("license") = "GPL";
