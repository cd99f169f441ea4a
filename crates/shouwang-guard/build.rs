//! Compile the blocking-mode BPF program (bpf/block.bpf.c) with clang when
//! clang and the libbpf headers are there; without them the crate builds
//! without blocking mode and says so at run time. A package must not ship
//! without it unnoticed: with SHOUWANG_REQUIRE_BPF=1 (scripts/package sets
//! it) a failed BPF build fails the build.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(shouwang_bpf)");
    println!("cargo::rerun-if-changed=bpf/block.bpf.c");
    println!("cargo::rerun-if-env-changed=CLANG");
    println!("cargo::rerun-if-env-changed=SHOUWANG_REQUIRE_BPF");
    let required = std::env::var_os("SHOUWANG_REQUIRE_BPF").is_some_and(|v| v == "1");
    let out =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("block.bpf.o");
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".into());
    let target_arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_else(|_| "x86_64".into());
    let arch = match target_arch.as_str() {
        "x86_64" => "x86",
        "aarch64" => "arm64",
        other => other,
    };
    let multiarch = format!(
        "/usr/include/{}-linux-gnu",
        std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default()
    );
    let status = Command::new(&clang)
        .args([
            "-O2",
            "-g",
            "-target",
            "bpf",
            &format!("-D__TARGET_ARCH_{arch}"),
            "-I",
            &multiarch,
            "-c",
            "bpf/block.bpf.c",
            "-o",
        ])
        .arg(&out)
        .status();
    let why_not = match status {
        Ok(s) if s.success() => {
            println!("cargo::rustc-cfg=shouwang_bpf");
            println!("cargo::rustc-env=SHOUWANG_BPF_OBJ={}", out.display());
            return;
        }
        Ok(s) => format!("{clang} failed on bpf/block.bpf.c ({s}); install clang and libbpf-dev"),
        Err(e) => format!("cannot run {clang} ({e}); install clang and libbpf-dev"),
    };
    if required {
        // A panic in a build script fails the build with this message.
        panic!("SHOUWANG_REQUIRE_BPF=1 but the BPF blocker cannot be built: {why_not}");
    }
    println!("cargo::warning=blocking mode left out: {why_not}");
}
