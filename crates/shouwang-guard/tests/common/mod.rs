//! Running the guard's tests as on a Linux 4.19 kernel (银河麒麟 V10,
//! 统信 UOS 20, openEuler 20.03): `openat2` (5.6) answers ENOSYS and
//! fanotify directory handles (5.9) EINVAL, by a seccomp filter. The
//! filter is installed only in a child run of the test binary, on the
//! threads of the tests there (and the threads they start), so it never
//! reaches a test of the ordinary run.

// A seccomp filter is a raw prctl with a BPF program.
#![allow(unsafe_code, dead_code)]

use std::process::Command;

/// Set in the child run.
pub const OLD_KERNEL: &str = "SHOUWANG_TEST_OLD_KERNEL";

/// Is this the child run?
pub fn old_kernel() -> bool {
    std::env::var_os(OLD_KERNEL).is_some()
}

/// In the child run, make the calling thread (and those it starts) see a
/// 4.19 kernel. Every test's setup calls this.
pub fn as_the_kernel_says() {
    if old_kernel() {
        install_filter();
    }
}

fn install_filter() {
    use libc::{
        BPF_ABS, BPF_ALU, BPF_AND, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W,
        SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, sock_filter, sock_fprog,
    };
    // AUDIT_ARCH_*: the ELF machine, 64-bit, little-endian.
    #[cfg(target_arch = "x86_64")]
    const ARCH: u32 = 0xC000_003E;
    #[cfg(target_arch = "aarch64")]
    const ARCH: u32 = 0xC000_00B7;
    let op = |code: u32, k: u32| sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    // Jump over `skip` instructions unless the accumulator is `k`.
    let unless = |k: u32, skip: u8| sock_filter {
        code: (BPF_JMP | BPF_JEQ | BPF_K) as u16,
        jt: 0,
        jf: skip,
        k,
    };
    let (ld, ret, allow) = (BPF_LD | BPF_W | BPF_ABS, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    // struct seccomp_data: nr at 0, arch at 4, args[0] at 16 (low word).
    let program = [
        op(ld, 4),
        unless(ARCH, 7),
        op(ld, 0),
        unless(libc::SYS_openat2 as u32, 1),
        op(ret, SECCOMP_RET_ERRNO | libc::ENOSYS as u32),
        unless(libc::SYS_fanotify_init as u32, 3),
        op(ld, 16),
        op(BPF_ALU | BPF_AND | BPF_K, libc::FAN_REPORT_DIR_FID),
        unless(0, 1),
        op(ret, allow),
        op(ret, SECCOMP_RET_ERRNO | libc::EINVAL as u32),
    ];
    // Another architecture, and every other call, jumps to the `allow` at
    // index 9; fanotify_init with FAN_REPORT_DIR_FID falls to the EINVAL.
    let prog = sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr() as *mut sock_filter,
    };
    // SAFETY: prctl with the documented arguments; `prog` and the program
    // it points to outlive the call, which copies them.
    let r = unsafe {
        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER,
            &prog as *const sock_fprog,
        )
    };
    assert_eq!(r, 0, "seccomp: {}", std::io::Error::last_os_error());
}

/// Run every test of this binary again as on a 4.19 kernel (but those
/// named by `skip`), in a child process, and fail with its output when one
/// fails there. Returns how many passed.
pub fn rerun_as_on_an_old_kernel(this_test: &str, skip: &[&str]) -> usize {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    cmd.env(OLD_KERNEL, "1")
        .args(["--skip", this_test, "--test-threads", "2"]);
    for s in skip {
        cmd.args(["--skip", s]);
    }
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "on a 4.19 kernel:\n{text}");
    let passed = text
        .lines()
        .find_map(|l| l.strip_prefix("test result: ok. "))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(passed > 0, "no test ran on the old kernel:\n{text}");
    passed
}
