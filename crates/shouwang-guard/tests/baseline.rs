//! Sealing, checking and repairing real temporary web roots, including the
//! tricks of an attacker who is still on the box.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use shouwang_guard::{Aspect, ChangeKind, GuardDir, GuardError, Outcome, SealOptions};

mod common;

struct Site {
    _tmp: tempfile::TempDir,
    data: PathBuf,
    root: PathBuf,
    outside: PathBuf,
}

/// A small government-site-like tree: pages, assets, a symlink, a Chinese
/// file name and one that is not UTF-8.
fn site() -> Site {
    common::as_the_kernel_says();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let root = tmp.path().join("www");
    let outside = tmp.path().join("outside");
    fs::create_dir_all(&data).unwrap();
    fs::create_dir_all(root.join("news/2026")).unwrap();
    fs::create_dir_all(root.join("static/css")).unwrap();
    fs::create_dir_all(root.join("uploads")).unwrap();
    fs::create_dir_all(&outside).unwrap();
    fs::write(
        root.join("index.html"),
        "<html><title>某某镇人民政府</title><body>欢迎</body></html>",
    )
    .unwrap();
    fs::write(root.join("news/2026/a.html"), "<p>通知公告</p>").unwrap();
    fs::write(root.join("news/2026/b.html"), "<p>通知公告</p>").unwrap(); // same content as a.html
    fs::write(root.join("static/css/site.css"), "body{color:#333}").unwrap();
    fs::write(root.join("联系我们.html"), "电话：0000-1234567").unwrap();
    fs::write(
        root.join(std::ffi::OsStr::from_bytes(b"gbk-\xc1\xaa.html")),
        "gbk name",
    )
    .unwrap();
    symlink("index.html", root.join("home.html")).unwrap();
    fs::set_permissions(root.join("index.html"), fs::Permissions::from_mode(0o644)).unwrap();
    fs::write(outside.join("victim.txt"), "outside the web root").unwrap();
    Site {
        _tmp: tmp,
        data,
        root,
        outside,
    }
}

fn seal(s: &Site) -> GuardDir {
    let g = GuardDir::open(&s.data).unwrap();
    g.seal(
        &s.root,
        &SealOptions {
            excludes: vec!["cache/**".into()],
            writables: vec!["uploads/**".into()],
        },
    )
    .unwrap();
    g
}

fn changes(g: &GuardDir, root: &Path) -> Vec<(String, ChangeKind)> {
    let mut v: Vec<_> = g
        .baseline(root)
        .unwrap()
        .check()
        .unwrap()
        .changes
        .into_iter()
        .map(|c| (c.path_display(), c.kind))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Every test of this file again as on a 4.19 kernel, where restores
/// resolve paths component by component: the same attacks must fail the
/// same way.
#[test]
fn every_test_here_passes_again_where_openat2_is_missing() {
    let passed = common::rerun_as_on_an_old_kernel(
        "every_test_here_passes_again_where_openat2_is_missing",
        &[],
    );
    assert!(passed >= 20, "{passed} passed");
}

#[test]
fn a_defacement_is_restored_by_the_resolver_the_kernel_allows() {
    let s = site();
    let g = seal(&s);
    let sealed = fs::read(s.root.join("news/2026/a.html")).unwrap();
    fs::write(s.root.join("news/2026/a.html"), "HACKED").unwrap();
    let b = g.baseline(&s.root).unwrap();
    b.repair().unwrap();
    assert_eq!(fs::read(s.root.join("news/2026/a.html")).unwrap(), sealed);
    let (how, _) = shouwang_guard::restore::resolver();
    if common::old_kernel() {
        assert_eq!(how, "component by component");
    }
}

/// What `shouwang status` shows: each part's mechanism and why, as the
/// kernel allows (on 4.19: the component walk and inotify).
#[test]
fn each_part_names_its_mechanism_and_why() {
    let s = site();
    seal(&s);
    let config = shouwang_guard::GuardConfig {
        block: true,
        ..Default::default()
    };
    let m = shouwang_guard::runtime::mechanisms(&s.data, &config);
    let part = |p: &str| m.iter().find(|x| x.part == p).expect(p).clone();
    let (restore, watch, block) = (part("restore"), part("watch"), part("block"));
    if common::old_kernel() {
        assert_eq!(restore.uses, "component by component", "{restore:?}");
        assert_eq!(watch.uses, "inotify", "{watch:?}");
        assert!(watch.why.contains("directory handles"), "{watch:?}");
    } else if rustix::process::geteuid().is_root() {
        assert_eq!(watch.uses, "fanotify", "{watch:?}");
    } else {
        assert_eq!(watch.uses, "inotify", "{watch:?}");
        assert!(watch.why.contains("root"), "{watch:?}");
    }
    assert!(
        ["BPF LSM", "fanotify permission events", "off"].contains(&block.uses.as_str()),
        "{block:?}"
    );
    assert!(!block.why.is_empty() && !restore.why.is_empty());
}

#[test]
fn a_fresh_seal_checks_clean_and_stores_identical_files_once() {
    let s = site();
    let g = GuardDir::open(&s.data).unwrap();
    let report = g.seal(&s.root, &SealOptions::default()).unwrap();
    assert_eq!(report.files, 6);
    assert_eq!(report.symlinks, 1);
    assert_eq!(report.objects, 5, "a.html and b.html share one object");
    assert!(changes(&g, &s.root).is_empty());
    let mode = fs::metadata(s.data.join("guard.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn check_names_every_kind_of_change() {
    let s = site();
    let g = seal(&s);
    fs::write(s.root.join("index.html"), "<html>HACKED BY X</html>").unwrap();
    fs::set_permissions(
        s.root.join("static/css/site.css"),
        fs::Permissions::from_mode(0o777),
    )
    .unwrap();
    fs::remove_file(s.root.join("home.html")).unwrap();
    symlink(&s.outside, s.root.join("home.html")).unwrap();
    fs::write(
        s.root.join("news/2026/shell.php"),
        "<?php eval($_POST['x']);",
    )
    .unwrap();
    fs::remove_dir_all(s.root.join("static/css")).unwrap();
    fs::create_dir_all(s.root.join("cache")).unwrap();
    fs::write(s.root.join("cache/x"), "excluded").unwrap();
    fs::write(s.root.join("uploads/photo.jpg"), "jpeg").unwrap();

    let got = changes(&g, &s.root);
    let find = |p: &str| {
        got.iter()
            .find(|(path, _)| path == p)
            .map(|(_, k)| k.clone())
    };
    assert_eq!(
        find("index.html"),
        Some(ChangeKind::Modified {
            aspects: vec![Aspect::Content]
        })
    );
    assert_eq!(
        find("home.html"),
        Some(ChangeKind::Modified {
            aspects: vec![Aspect::Target]
        })
    );
    assert_eq!(find("news/2026/shell.php"), Some(ChangeKind::Added));
    assert_eq!(find("static/css"), Some(ChangeKind::Deleted));
    assert_eq!(find("static/css/site.css"), Some(ChangeKind::Deleted));
    assert_eq!(find("uploads/photo.jpg"), Some(ChangeKind::WritableAdded));
    assert!(
        find("cache/x").is_none() && find("cache").is_none(),
        "excluded: {got:?}"
    );
}

#[test]
fn repair_restores_bytes_modes_and_quarantines_intruders() {
    let s = site();
    let g = seal(&s);
    let original = fs::read(s.root.join("index.html")).unwrap();
    fs::write(s.root.join("index.html"), "<html>HACKED</html>").unwrap();
    fs::set_permissions(
        s.root.join("news/2026/a.html"),
        fs::Permissions::from_mode(0o777),
    )
    .unwrap();
    fs::write(
        s.root.join("news/2026/shell.php"),
        "<?php eval($_POST['x']);",
    )
    .unwrap();
    fs::remove_dir_all(s.root.join("static")).unwrap();
    fs::write(s.root.join("uploads/photo.jpg"), "jpeg").unwrap();

    let b = g.baseline(&s.root).unwrap();
    let results = b.repair().unwrap();
    assert!(results.iter().all(|(_, r)| r.is_ok()), "{results:?}");
    assert!(
        changes(&g, &s.root)
            .iter()
            .all(|(_, k)| *k == ChangeKind::WritableAdded),
        "clean after repair"
    );
    assert_eq!(fs::read(s.root.join("index.html")).unwrap(), original);
    assert_eq!(
        fs::metadata(s.root.join("news/2026/a.html"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o644
    );
    assert_eq!(
        fs::read_to_string(s.root.join("static/css/site.css")).unwrap(),
        "body{color:#333}"
    );
    assert!(!s.root.join("news/2026/shell.php").exists());
    assert!(
        s.root.join("uploads/photo.jpg").exists(),
        "writable areas are left alone"
    );

    let q = b.quarantine.list().unwrap();
    let shell = q
        .iter()
        .find(|r| r.path == "news/2026/shell.php")
        .expect("the webshell is in quarantine");
    assert_eq!(shell.reason, "intruder");
    let kept = fs::read_to_string(b.quarantine.item_path(&shell.id).unwrap()).unwrap();
    assert!(kept.contains("eval"), "kept, not deleted");
    let tampered = q
        .iter()
        .find(|r| r.path == "index.html")
        .expect("the defaced page is kept as evidence");
    assert_eq!(tampered.reason, "tampered");
    assert_eq!(
        fs::read_to_string(b.quarantine.item_path(&tampered.id).unwrap()).unwrap(),
        "<html>HACKED</html>"
    );
}

#[test]
fn a_directory_swapped_for_a_symlink_never_leads_a_restore_outside() {
    let s = site();
    let g = seal(&s);
    // The attacker replaces news/2026 by a symlink to a directory outside
    // that holds a file with the name of a sealed page.
    fs::remove_dir_all(s.root.join("news/2026")).unwrap();
    fs::write(s.outside.join("a.html"), "outside file").unwrap();
    symlink(&s.outside, s.root.join("news/2026")).unwrap();
    let b = g.baseline(&s.root).unwrap();
    let r = b.repair().unwrap();
    assert!(r.iter().all(|(_, x)| x.is_ok()), "{r:?}");
    assert_eq!(
        fs::read_to_string(s.outside.join("a.html")).unwrap(),
        "outside file",
        "nothing written outside"
    );
    assert_eq!(
        fs::read_to_string(s.outside.join("victim.txt")).unwrap(),
        "outside the web root"
    );
    assert!(
        fs::symlink_metadata(s.root.join("news/2026"))
            .unwrap()
            .is_dir(),
        "the directory is back"
    );
    assert_eq!(
        fs::read_to_string(s.root.join("news/2026/a.html")).unwrap(),
        "<p>通知公告</p>"
    );
    assert!(
        b.quarantine
            .list()
            .unwrap()
            .iter()
            .any(|r| r.path == "news/2026" && r.kind == "symlink")
    );
}

#[test]
fn a_hard_link_to_an_outside_file_is_quarantined_without_touching_it() {
    let s = site();
    let g = seal(&s);
    fs::hard_link(s.outside.join("victim.txt"), s.root.join("linked.html")).unwrap();
    // And a sealed file replaced by a hard link to the outside file.
    fs::remove_file(s.root.join("联系我们.html")).unwrap();
    fs::hard_link(s.outside.join("victim.txt"), s.root.join("联系我们.html")).unwrap();
    let b = g.baseline(&s.root).unwrap();
    b.repair().unwrap();
    assert!(!s.root.join("linked.html").exists());
    assert_eq!(
        fs::read_to_string(s.outside.join("victim.txt")).unwrap(),
        "outside the web root"
    );
    assert_eq!(
        fs::read_to_string(s.root.join("联系我们.html")).unwrap(),
        "电话：0000-1234567"
    );
    assert_ne!(
        fs::metadata(s.root.join("联系我们.html")).unwrap().ino(),
        fs::metadata(s.outside.join("victim.txt")).unwrap().ino(),
        "the restore wrote a new file instead of through the link"
    );
}

#[test]
fn fix_is_idempotent_so_our_own_writes_cause_nothing() {
    let s = site();
    let g = seal(&s);
    fs::write(s.root.join("index.html"), "defaced").unwrap();
    let b = g.baseline(&s.root).unwrap();
    let root = shouwang_guard::SafeRoot::open(&b.root).unwrap();
    let r = b.restorer(&root);
    assert!(matches!(
        r.fix(b"index.html").unwrap(),
        Outcome::Restored { .. }
    ));
    assert_eq!(r.fix(b"index.html").unwrap(), Outcome::Unchanged);
    assert_eq!(r.fix(b"news/2026/a.html").unwrap(), Outcome::Unchanged);
}

#[test]
fn an_edited_baseline_is_refused() {
    let s = site();
    let g = seal(&s);
    let dir = g.baseline(&s.root).unwrap().dir;
    let manifest = dir.join("manifest");
    let mut bytes = fs::read(&manifest).unwrap();
    // Change one byte in the middle, as an attacker "adding" a file would.
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x20;
    fs::write(&manifest, &bytes).unwrap();
    let err = match g.baseline(&s.root) {
        Err(e) => e,
        Ok(_) => panic!("a tampered manifest was accepted"),
    };
    assert!(matches!(err, GuardError::BaselineTampered { .. }), "{err}");
    assert!(err.to_string().contains("Nothing was restored"));
}

#[test]
fn a_corrupted_object_is_never_written_back() {
    let s = site();
    let g = seal(&s);
    let b = g.baseline(&s.root).unwrap();
    // Small files are packed: damage the pack's bytes where index.html is.
    let sealed = fs::read(s.root.join("index.html")).unwrap();
    let packs = b.objects.dir().join("packs");
    let pack = fs::read_dir(&packs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "pack"))
        .expect("a pack file");
    let mut bytes = fs::read(&pack).unwrap();
    let at = bytes
        .windows(sealed.len())
        .position(|w| w == sealed.as_slice())
        .expect("index.html's bytes in the pack");
    bytes[at] ^= 0x20;
    fs::write(&pack, &bytes).unwrap();
    fs::write(s.root.join("index.html"), "defaced").unwrap();
    let root = shouwang_guard::SafeRoot::open(&b.root).unwrap();
    let err = b.restorer(&root).fix(b"index.html").unwrap_err();
    assert!(err.to_string().contains("corrupt"), "{err}");
}

#[test]
fn restore_to_rebuilds_the_site_elsewhere() {
    let s = site();
    let g = seal(&s);
    let b = g.baseline(&s.root).unwrap();
    let target = s.data.join("rebuilt");
    let n = b.restore_to(&target).unwrap();
    assert!(n >= 10, "{n}");
    assert_eq!(
        fs::read(target.join("index.html")).unwrap(),
        fs::read(s.root.join("index.html")).unwrap()
    );
    assert_eq!(
        fs::read_link(target.join("home.html")).unwrap(),
        Path::new("index.html")
    );
    assert_eq!(
        fs::metadata(target.join("index.html"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o644
    );
    let err = match b.restore_to(&target) {
        Err(e) => e,
        Ok(_) => panic!("restored into a non-empty directory"),
    };
    assert!(matches!(err, GuardError::TargetNotEmpty(_)));
}

#[test]
fn publish_accepts_an_approved_change() {
    let s = site();
    let g = seal(&s);
    fs::write(s.root.join("news/2026/c.html"), "<p>新闻</p>").unwrap();
    fs::write(s.root.join("index.html"), "<html>改版后的首页</html>").unwrap();
    g.publish(
        &s.root,
        &[PathBuf::from("news/2026/c.html"), s.root.join("index.html")],
    )
    .unwrap();
    assert!(changes(&g, &s.root).is_empty());
}

#[test]
fn release_puts_a_quarantined_file_back_and_keeps_it() {
    let s = site();
    let g = seal(&s);
    fs::write(
        s.root.join("notice.pdf"),
        "a real notice, uploaded the wrong way",
    )
    .unwrap();
    let b = g.baseline(&s.root).unwrap();
    b.repair().unwrap();
    let id = b.quarantine.list().unwrap()[0].id.clone();
    assert_eq!(g.release(&s.root, &id).unwrap(), "notice.pdf");
    assert!(s.root.join("notice.pdf").exists());
    assert!(
        changes(&g, &s.root).is_empty(),
        "released files join the baseline"
    );
    assert!(b.quarantine.list().unwrap().is_empty());
}

#[test]
fn a_web_root_swapped_for_a_symlink_is_refused_not_followed() {
    let s = site();
    let g = seal(&s);
    // The attacker moves the site away and points its path at another
    // directory: a restore through that path would write there and move
    // that directory's files to quarantine.
    fs::rename(&s.root, s.outside.join("moved-www")).unwrap();
    symlink(&s.outside, &s.root).unwrap();
    let b = g.baseline(&s.root.parent().unwrap().join("outside")).err();
    assert!(b.is_some(), "the outside directory is not a sealed root");
    let dir = GuardDir::open(&s.data).unwrap();
    let baselines = dir.baselines();
    let b = baselines.into_iter().next().unwrap().unwrap();
    let err = match b.repair() {
        Err(e) => e.to_string(),
        Ok(r) => panic!("repaired through a symlinked root: {r:?}"),
    };
    assert!(
        err.contains("symlink") || err.contains("not a directory"),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(s.outside.join("victim.txt")).unwrap(),
        "outside the web root"
    );
    assert!(
        !s.outside.join("index.html").exists(),
        "nothing written through the symlink"
    );
    assert!(
        b.quarantine.list().unwrap().is_empty(),
        "nothing quarantined from the other directory"
    );
}

#[test]
fn restore_to_refuses_a_target_through_a_symlink_and_writes_nothing_there() {
    let s = site();
    let g = seal(&s);
    let b = g.baseline(&s.root).unwrap();
    let elsewhere = s.data.join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    let link = s.data.join("rebuild-here");
    symlink(&elsewhere, &link).unwrap();
    for target in [link.clone(), link.join("deeper")] {
        let err = match g.restore_to(&b, &target) {
            Err(e) => e,
            Ok(n) => panic!("rebuilt {n} paths through the symlink {}", target.display()),
        };
        assert!(matches!(err, GuardError::BadTarget { .. }), "{err}");
        assert!(err.to_string().contains("is a symlink"), "{err}");
    }
    assert_eq!(
        fs::read_dir(&elsewhere).unwrap().count(),
        0,
        "nothing written where it points"
    );
}

#[test]
fn restore_to_refuses_a_target_inside_a_sealed_root() {
    let s = site();
    let g = seal(&s);
    let b = g.baseline(&s.root).unwrap();
    let target = s.root.join("news/rebuilt");
    let err = match g.restore_to(&b, &target) {
        Err(e) => e,
        Ok(n) => panic!("rebuilt {n} paths inside the sealed root"),
    };
    assert!(
        err.to_string().contains("inside the sealed web root"),
        "{err}"
    );
    assert!(!target.exists());
}

/// The record of `id` against the bytes its slot keeps.
fn record_matches_what_is_kept(b: &shouwang_guard::Baseline, id: &str, starts: &[u8]) {
    let rec = b.quarantine.get(id).unwrap();
    let kept = fs::read(b.quarantine.item_path(id).unwrap()).unwrap();
    assert!(
        kept.starts_with(starts),
        "{:?}",
        String::from_utf8_lossy(&kept[..kept.len().min(40)])
    );
    assert_eq!(
        rec.size,
        kept.len() as u64,
        "the record's size is the kept copy's"
    );
    assert_eq!(
        rec.blake3.as_deref(),
        Some(blake3::hash(&kept).to_hex().as_str()),
        "the record's hash is the kept copy's"
    );
}

#[test]
fn a_quarantine_record_describes_the_bytes_kept_while_the_intruder_keeps_writing() {
    use std::io::Write;
    let s = site();
    let g = seal(&s);
    let b = g.baseline(&s.root).unwrap();
    let root = shouwang_guard::SafeRoot::open(&b.root).unwrap();
    // The attacker's descriptors stay open after the guard has acted.
    let mut shell = fs::File::create(s.root.join("shell.php")).unwrap();
    shell.write_all(b"<?php ").unwrap();
    let Outcome::Quarantined { id } = b.restorer(&root).fix(b"shell.php").unwrap() else {
        panic!("shell.php not quarantined");
    };
    let mut page = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(s.root.join("index.html"))
        .unwrap();
    page.write_all(b"HACKED").unwrap();
    let Outcome::Restored {
        quarantined: Some(tampered),
        ..
    } = b.restorer(&root).fix(b"index.html").unwrap()
    else {
        panic!("index.html not restored with its tampered version kept");
    };
    for f in [&mut shell, &mut page] {
        f.write_all(&vec![b'x'; 1 << 20]).unwrap();
        f.sync_all().unwrap();
    }
    record_matches_what_is_kept(&b, &id, b"<?php ");
    record_matches_what_is_kept(&b, &tampered, b"HACKED");
}

fn budget(max_bytes: u64, max_items: u64) -> shouwang_guard::quarantine::Budget {
    shouwang_guard::quarantine::Budget {
        max_bytes,
        max_items,
    }
}

#[test]
fn a_full_quarantine_drops_the_oldest_evidence_first_and_counts_each_drop() {
    let s = site();
    let g = seal(&s).with_quarantine_budget(budget(1 << 20, 3));
    let b = g.baseline(&s.root).unwrap();
    let root = shouwang_guard::SafeRoot::open(&b.root).unwrap();
    for i in 0..5 {
        let name = format!("shell-{i}.php");
        fs::write(s.root.join(&name), format!("<?php /* {i} */")).unwrap();
        let out = b.restorer(&root).fix(name.as_bytes()).unwrap();
        assert!(matches!(out, Outcome::Quarantined { .. }), "{out:?}");
        assert!(!s.root.join(&name).exists());
    }
    let kept: Vec<String> = b
        .quarantine
        .list()
        .unwrap()
        .into_iter()
        .map(|r| r.path)
        .collect();
    assert_eq!(kept, ["shell-2.php", "shell-3.php", "shell-4.php"]);
    let dropped: Vec<(String, u64)> = b
        .quarantine
        .take_dropped()
        .into_iter()
        .map(|(r, n)| (r.path, n))
        .collect();
    assert_eq!(
        dropped,
        [
            ("shell-0.php".to_string(), 1),
            ("shell-1.php".to_string(), 2)
        ]
    );
}

#[test]
fn one_quarantine_budget_holds_for_all_roots_and_the_oldest_evidence_of_any_goes_first() {
    let (a, b) = (site(), site());
    // Both web roots are guarded from a's data dir.
    let g = seal(&a);
    g.seal(&b.root, &SealOptions::default()).unwrap();
    let g = g.with_quarantine_budget(budget(1 << 20, 2));
    let (ba, bb) = (g.baseline(&a.root).unwrap(), g.baseline(&b.root).unwrap());
    let intrude = |s: &Site, base: &shouwang_guard::Baseline, name: &str| {
        let root = shouwang_guard::SafeRoot::open(&base.root).unwrap();
        fs::write(s.root.join(name), "<?php eval($_POST[1]);").unwrap();
        let out = base.restorer(&root).fix(name.as_bytes()).unwrap();
        assert!(matches!(out, Outcome::Quarantined { .. }), "{out:?}");
    };
    intrude(&a, &ba, "a-shell.php");
    intrude(&b, &bb, "b-shell-1.php");
    intrude(&b, &bb, "b-shell-2.php");
    let kept = |base: &shouwang_guard::Baseline| -> Vec<String> {
        base.quarantine
            .list()
            .unwrap()
            .into_iter()
            .map(|r| r.path)
            .collect()
    };
    assert!(
        kept(&ba).is_empty(),
        "the oldest, in the other root, went first"
    );
    assert_eq!(kept(&bb), ["b-shell-1.php", "b-shell-2.php"]);
    let dropped: Vec<String> = bb
        .quarantine
        .take_dropped()
        .into_iter()
        .map(|(r, _)| r.path)
        .collect();
    assert_eq!(
        dropped,
        ["a-shell.php"],
        "the drop is reported, naming its root's file"
    );
}

#[test]
fn an_intruder_over_the_quarantine_budget_is_still_removed_and_described() {
    let s = site();
    let g = seal(&s).with_quarantine_budget(budget(1024, 100));
    let b = g.baseline(&s.root).unwrap();
    let root = shouwang_guard::SafeRoot::open(&b.root).unwrap();
    let mut body = b"<?php eval($_POST[1]); ".to_vec();
    body.resize(10_000, b'x');
    fs::write(s.root.join("big.php"), &body).unwrap();
    let Outcome::Quarantined { id } = b.restorer(&root).fix(b"big.php").unwrap() else {
        panic!("big.php not handled as an intruder");
    };
    assert!(
        !s.root.join("big.php").exists(),
        "removed from the web root"
    );
    let rec = b.quarantine.get(&id).unwrap();
    assert!(!rec.kept);
    assert_eq!(rec.size, 10_000);
    assert_eq!(
        rec.blake3.as_deref(),
        Some(blake3::hash(&body).to_hex().as_str())
    );
    assert!(
        rec.first_bytes
            .as_deref()
            .is_some_and(|h| h.starts_with(&hex::encode("<?php eval"))),
        "{rec:?}"
    );
    // A page defaced with more than the budget is put back all the same.
    fs::write(s.root.join("index.html"), &body).unwrap();
    let out = b.restorer(&root).fix(b"index.html").unwrap();
    assert!(matches!(out, Outcome::Restored { .. }), "{out:?}");
    assert!(
        fs::read_to_string(s.root.join("index.html"))
            .unwrap()
            .contains("某某镇人民政府")
    );
}

/// The data dir on a 1 MB filesystem of its own, the web root elsewhere:
/// a 4 MB file dropped into the root cannot be copied into quarantine. No
/// partial copy is left, the file still leaves the web root, and a
/// defaced page is still put back.
#[test]
fn a_full_data_disk_still_removes_the_intruder_and_restores_the_page() {
    let s = site();
    let small = s.outside.join("small-data");
    fs::create_dir_all(&small).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&small)
        .status()
        .is_ok_and(|st| st.success());
    if !mounted {
        eprintln!("SKIPPED: cannot mount a small tmpfs (needs root)");
        return;
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(small.clone());
    let g = GuardDir::open(&small).unwrap();
    g.seal(&s.root, &SealOptions::default()).unwrap();
    let b = g.baseline(&s.root).unwrap();
    let root = shouwang_guard::SafeRoot::open(&b.root).unwrap();
    let mut body = b"<?php system($_GET[c]); ".to_vec();
    body.resize(4 << 20, b'x');
    fs::write(s.root.join("shell.php"), &body).unwrap();
    let out = b.restorer(&root).fix(b"shell.php");
    assert!(matches!(out, Ok(Outcome::Quarantined { .. })), "{out:?}");
    assert!(
        !s.root.join("shell.php").exists(),
        "the shell left the web root"
    );
    let rec = &b.quarantine.list().unwrap()[0];
    assert!(!rec.kept, "{rec:?}");
    assert_eq!(
        rec.blake3.as_deref(),
        Some(blake3::hash(&body).to_hex().as_str())
    );
    assert!(
        !b.quarantine.dir().join(&rec.id).join("item").exists(),
        "no partial copy left"
    );
    fs::write(s.root.join("index.html"), "HACKED").unwrap();
    let out = b.restorer(&root).fix(b"index.html");
    assert!(matches!(out, Ok(Outcome::Restored { .. })), "{out:?}");
    assert!(
        fs::read_to_string(s.root.join("index.html"))
            .unwrap()
            .contains("某某镇人民政府")
    );
}
