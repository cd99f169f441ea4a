//! Compile the blocking-mode BPF program (bpf/block.bpf.c) with clang when
//! clang and the libbpf headers are there; without them the crate builds
//! without blocking mode and says so at run time.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(shouwang_bpf)");
    println!("cargo::rerun-if-changed=bpf/block.bpf.c");
    println!("cargo::rerun-if-env-changed=CLANG");
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
    match status {
        Ok(s) if s.success() => {
            println!("cargo::rustc-cfg=shouwang_bpf");
            println!("cargo::rustc-env=SHOUWANG_BPF_OBJ={}", out.display());
        }
        Ok(s) => println!(
            "cargo::warning=blocking mode left out: {clang} failed on bpf/block.bpf.c ({s}); install clang and libbpf-dev"
        ),
        Err(e) => println!(
            "cargo::warning=blocking mode left out: cannot run {clang} ({e}); install clang and libbpf-dev"
        ),
    }
}
