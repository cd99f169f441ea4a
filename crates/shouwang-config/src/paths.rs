//! Where the data dir and the config file are, and making the data dir.

use std::ffi::OsString;
use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{ConfigError, Result, io};

/// How a path was chosen; error messages name it so the user knows what
/// to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    Default,
    Flag,
    Env,
}

impl Origin {
    pub fn describe(self, flag: &str, env: &str) -> String {
        match self {
            Origin::Default => "default path".into(),
            Origin::Flag => format!("from {flag}"),
            Origin::Env => format!("from {env}"),
        }
    }
}

/// A path the user named (flag or environment), before defaults apply.
pub type Named = Option<(PathBuf, Origin)>;

#[derive(Debug, Clone)]
pub struct Paths {
    /// `None` when there is no default (no home directory) and none was
    /// named; only commands that need the data dir fail then.
    data_dir: Option<PathBuf>,
    pub data_dir_origin: Origin,
    config: Option<PathBuf>,
    pub config_origin: Origin,
}

const NO_HOME: &str = "cannot tell where your home directory is (HOME is not set)";

impl Paths {
    pub fn resolve(data_dir: Named, config: Named) -> Result<Paths> {
        let root = running_as_root();
        let env = |k: &str| std::env::var_os(k);
        let absolute = |p: PathBuf| std::path::absolute(&p).map_err(io("resolve the path", &p));
        let (data_dir, data_dir_origin) = match data_dir {
            Some((p, origin)) => (Some(absolute(p)?), origin),
            None => (default_data_dir(root, env), Origin::Default),
        };
        let (config, config_origin) = match config {
            Some((p, origin)) => (Some(absolute(p)?), origin),
            None => (default_config(root, env), Origin::Default),
        };
        Ok(Paths {
            data_dir,
            data_dir_origin,
            config,
            config_origin,
        })
    }

    pub fn data_dir(&self) -> Result<&Path> {
        self.data_dir.as_deref().ok_or_else(|| {
            ConfigError::Unusable(format!(
                "{NO_HOME}: pass --data-dir DIR or set SHOUWANG_DATA_DIR or XDG_DATA_HOME"
            ))
        })
    }

    pub fn config(&self) -> Result<&Path> {
        self.config.as_deref().ok_or_else(|| {
            ConfigError::Unusable(format!(
                "{NO_HOME}: pass --config FILE or set SHOUWANG_CONFIG or XDG_CONFIG_HOME"
            ))
        })
    }

    /// Make the data dir (mode 0700: it holds the audit key and the
    /// database) if it is not there yet.
    pub fn create_data_dir(&self) -> Result<&Path> {
        let dir = self.data_dir()?;
        match fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
        {
            Ok(()) => {}
            Err(e) => {
                let hint = if e.kind() == ErrorKind::PermissionDenied {
                    "run as root, or pass --data-dir DIR / set SHOUWANG_DATA_DIR to a directory you can write"
                } else {
                    "pass --data-dir DIR / set SHOUWANG_DATA_DIR to a directory you can create"
                };
                return Err(ConfigError::Unusable(format!(
                    "cannot create the data dir {} ({}): {e}; {hint}",
                    dir.display(),
                    self.data_dir_origin
                        .describe("--data-dir", "SHOUWANG_DATA_DIR")
                )));
            }
        }
        if !dir.is_dir() {
            return Err(ConfigError::Unusable(format!(
                "the data dir {} is not a directory; pass --data-dir DIR / set SHOUWANG_DATA_DIR",
                dir.display()
            )));
        }
        Ok(dir)
    }

    /// The data dir of a command that only reads: it must exist already,
    /// holding `marker` (the file that shows a store was made there).
    pub fn existing_data_dir(&self, marker: &str) -> Result<&Path> {
        let dir = self.data_dir()?;
        let no_data = || {
            ConfigError::Unusable(format!(
                "no Shouwang data in {}: run `shouwang up` first (or pass --data-dir)",
                dir.display()
            ))
        };
        match dir.join(marker).try_exists() {
            Ok(true) => Ok(dir),
            Ok(false) => Err(no_data()),
            Err(e) if e.kind() == ErrorKind::PermissionDenied => {
                Err(ConfigError::Unusable(format!(
                    "cannot read the data dir {}: {e}; run as root, or pass --data-dir DIR",
                    dir.display()
                )))
            }
            Err(e) if e.kind() == ErrorKind::NotADirectory => Err(no_data()),
            Err(e) => Err(io("read the data dir", dir)(e)),
        }
    }
}

/// Whether the effective user is root, which selects the system-wide
/// defaults. Read from /proc so that no libc binding is needed.
pub fn running_as_root() -> bool {
    effective_uid() == Some(0)
}

pub fn effective_uid() -> Option<u32> {
    if let Ok(status) = fs::read_to_string("/proc/self/status")
        && let Some(uid) = parse_effective_uid(&status)
    {
        return Some(uid);
    }
    // /proc/self is owned by the effective uid of the process.
    fs::metadata("/proc/self").ok().map(|m| m.uid())
}

fn parse_effective_uid(status: &str) -> Option<u32> {
    // "Uid:\treal\teffective\tsaved\tfilesystem"
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// The XDG base dir in `var`, or `home/fallback`. The XDG spec says a
/// relative value is invalid and must be ignored.
fn xdg_dir(env: impl Fn(&str) -> Option<OsString>, var: &str, fallback: &str) -> Option<PathBuf> {
    if let Some(v) = env(var).map(PathBuf::from)
        && v.is_absolute()
    {
        return Some(v);
    }
    let home = env("HOME").filter(|h| !h.is_empty())?;
    Some(PathBuf::from(home).join(fallback))
}

fn default_data_dir(root: bool, env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    if root {
        return Some(PathBuf::from("/var/lib/shouwang"));
    }
    Some(xdg_dir(env, "XDG_DATA_HOME", ".local/share")?.join("shouwang"))
}

fn default_config(root: bool, env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    if root {
        return Some(PathBuf::from("/etc/shouwang/shouwang.toml"));
    }
    Some(
        xdg_dir(env, "XDG_CONFIG_HOME", ".config")?
            .join("shouwang")
            .join("shouwang.toml"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| {
            pairs
                .iter()
                .find(|(pk, _)| pk == k)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn root_uses_the_system_paths() {
        let env = env_of(&[("HOME", "/root"), ("XDG_DATA_HOME", "/x")]);
        assert_eq!(
            default_data_dir(true, &env).unwrap(),
            Path::new("/var/lib/shouwang")
        );
        assert_eq!(
            default_config(true, &env).unwrap(),
            Path::new("/etc/shouwang/shouwang.toml")
        );
    }

    #[test]
    fn users_get_xdg_paths() {
        let env = env_of(&[
            ("HOME", "/home/a"),
            ("XDG_DATA_HOME", "/d"),
            ("XDG_CONFIG_HOME", "/c"),
        ]);
        assert_eq!(
            default_data_dir(false, &env).unwrap(),
            Path::new("/d/shouwang")
        );
        assert_eq!(
            default_config(false, &env).unwrap(),
            Path::new("/c/shouwang/shouwang.toml")
        );
    }

    #[test]
    fn users_without_xdg_get_dirs_under_home() {
        // A relative XDG value is invalid per the spec and is ignored.
        let env = env_of(&[("HOME", "/home/a"), ("XDG_DATA_HOME", "rel")]);
        assert_eq!(
            default_data_dir(false, &env).unwrap(),
            Path::new("/home/a/.local/share/shouwang")
        );
        assert_eq!(
            default_config(false, &env).unwrap(),
            Path::new("/home/a/.config/shouwang/shouwang.toml")
        );
        assert_eq!(default_data_dir(false, env_of(&[])), None);
    }

    #[test]
    fn reads_the_effective_uid_from_proc_status() {
        let status = "Name:\tx\nUid:\t1000\t0\t0\t0\nGid:\t1\t1\t1\t1\n";
        assert_eq!(parse_effective_uid(status), Some(0));
        assert!(effective_uid().is_some());
    }
}
