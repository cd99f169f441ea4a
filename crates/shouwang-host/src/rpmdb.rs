//! The rpm package database (openEuler, Kylin, UOS server, RHEL-likes).
//!
//! rpm ≥ 4.16 keeps it in SQLite (`rpmdb.sqlite`): a `Packages` table of
//! header blobs. A header blob is big-endian: the index entry count, the
//! data size, the entries (tag, type, offset, count) and the data. We read
//! the name, version, release and epoch tags; older Berkeley DB databases
//! are named as such, not guessed at.

use rusqlite::{Connection, OpenFlags};

use crate::parse::Package;
use crate::probe::{CannotCheck, PackageDb};
use crate::root::Root;

const SQLITE_PATHS: [&str; 2] = [
    "/var/lib/rpm/rpmdb.sqlite",
    "/usr/lib/sysimage/rpm/rpmdb.sqlite",
];
const BDB_PATHS: [&str; 2] = ["/var/lib/rpm/Packages", "/usr/lib/sysimage/rpm/Packages"];

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;

pub fn read(root: &Root) -> Result<PackageDb, CannotCheck> {
    for (path, source) in SQLITE_PATHS.iter().zip(SQLITE_PATHS) {
        if !root.exists(path) {
            continue;
        }
        let host = root.host_path(path);
        // Read-only and immutable: an image must not be changed by an
        // audit, and a live rpm may hold the database open.
        let uri = format!("file:{}?immutable=1", host.display());
        let conn = Connection::open_with_flags(
            &uri,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(|e| {
            CannotCheck::new(
                format!("cannot open the rpm database {path}: {e}"),
                format!("无法打开 rpm 数据库 {path}：{e}"),
            )
        })?;
        let damaged = |e: rusqlite::Error| {
            CannotCheck::new(
                format!("the rpm database {path} is damaged or not readable: {e}"),
                format!("rpm 数据库 {path} 已损坏或无法读取：{e}"),
            )
        };
        let mut stmt = conn
            .prepare("SELECT hnum, blob FROM Packages")
            .map_err(damaged)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
            .map_err(damaged)?;
        let mut packages = Vec::new();
        for row in rows {
            let (hnum, blob) = row.map_err(damaged)?;
            let p = header(&blob).ok_or_else(|| {
                CannotCheck::new(
                    format!("the rpm database {path} is damaged: header {hnum} cannot be parsed"),
                    format!("rpm 数据库 {path} 已损坏：第 {hnum} 个头部无法解析"),
                )
            })?;
            packages.push(p);
        }
        return Ok(PackageDb { source, packages });
    }
    if let Some(p) = BDB_PATHS.iter().find(|p| root.exists(p)) {
        return Err(CannotCheck::new(
            format!(
                "{p} is a Berkeley DB rpm database, which this version does not read (rpm < 4.16); run `rpmdb --rebuilddb` on rpm ≥ 4.16 or check packages with `rpm -qa`"
            ),
            format!(
                "{p} 是 Berkeley DB 格式的 rpm 数据库（rpm 低于 4.16），本版本不能读取；请在 rpm 4.16 及以上运行 rpmdb --rebuilddb，或用 rpm -qa 检查软件包"
            ),
        ));
    }
    Err(CannotCheck::new(
        "no package database: neither /var/lib/dpkg/status nor an rpm database exists",
        "没有软件包数据库：/var/lib/dpkg/status 与 rpm 数据库均不存在",
    ))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Name, version-release and epoch from an rpm header blob.
pub fn header(blob: &[u8]) -> Option<Package> {
    let count = be32(blob, 0)? as usize;
    let data_len = be32(blob, 4)? as usize;
    let data_start = 8 + count.checked_mul(16)?;
    let data = blob.get(data_start..data_start.checked_add(data_len)?)?;
    let (mut name, mut version, mut release, mut epoch) = (None, None, None, None);
    for i in 0..count {
        let e = 8 + i * 16;
        let tag = be32(blob, e)?;
        let kind = be32(blob, e + 4)?;
        let offset = be32(blob, e + 8)? as usize;
        let string = || -> Option<String> {
            let bytes = data.get(offset..)?;
            let end = bytes.iter().position(|&b| b == 0)?;
            Some(String::from_utf8_lossy(&bytes[..end]).into_owned())
        };
        match (tag, kind) {
            (TAG_NAME, 6) => name = string(),
            (TAG_VERSION, 6) => version = string(),
            (TAG_RELEASE, 6) => release = string(),
            (TAG_EPOCH, 4) => epoch = be32(data, offset),
            _ => {}
        }
    }
    let mut v = format!("{}-{}", version?, release.unwrap_or_default());
    if let Some(e) = epoch.filter(|e| *e > 0) {
        v = format!("{e}:{v}");
    }
    Some(Package {
        name: name?,
        version: v,
        line: 0,
    })
}

/// Build a header blob (for tests and fixtures).
pub fn make_header(name: &str, version: &str, release: &str) -> Vec<u8> {
    let mut data = Vec::new();
    let mut entries = Vec::new();
    for (tag, s) in [
        (TAG_NAME, name),
        (TAG_VERSION, version),
        (TAG_RELEASE, release),
    ] {
        entries.push((tag, 6u32, data.len() as u32, 1u32));
        data.extend_from_slice(s.as_bytes());
        data.push(0);
    }
    let mut blob = Vec::new();
    blob.extend_from_slice(&(entries.len() as u32).to_be_bytes());
    blob.extend_from_slice(&(data.len() as u32).to_be_bytes());
    for (t, k, o, c) in entries {
        for v in [t, k, o, c] {
            blob.extend_from_slice(&v.to_be_bytes());
        }
    }
    blob.extend_from_slice(&data);
    blob
}

/// Write an rpmdb.sqlite holding these packages (for tests and fixtures).
pub fn write_sqlite(
    path: &std::path::Path,
    packages: &[(&str, &str, &str)],
) -> rusqlite::Result<()> {
    let conn = Connection::open(path)?;
    conn.execute_batch(
        "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);",
    )?;
    for (n, v, r) in packages {
        conn.execute(
            "INSERT INTO Packages (blob) VALUES (?1)",
            [make_header(n, v, r)],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_and_garbage_is_refused() {
        let p = header(&make_header("openssh-server", "8.8p1", "2.oe2203")).unwrap();
        assert_eq!(p.name, "openssh-server");
        assert_eq!(p.version, "8.8p1-2.oe2203");
        assert!(header(b"\xff\xff\xff\xffgarbage").is_none());
        assert!(header(&[]).is_none());
    }

    #[test]
    fn reads_a_sqlite_rpmdb() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("var/lib/rpm")).unwrap();
        write_sqlite(
            &tmp.path().join("var/lib/rpm/rpmdb.sqlite"),
            &[("bash", "5.1", "1"), ("clamav", "0.103", "2")],
        )
        .unwrap();
        let db = read(&Root::offline(tmp.path())).unwrap();
        assert_eq!(db.packages.len(), 2);
        assert_eq!(db.packages[1].name, "clamav");
    }
}
