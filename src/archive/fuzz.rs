//! Property test of the unpackers (tar.gz here; multipart in `http/multipart.rs` uses the
//! same helpers): many random archives of hostile entries (`..`, absolute and over-long names,
//! names that are not UTF-8, duplicates, a file and a directory of one name, deep trees,
//! symlinks, hard links, devices, GNU long names and PAX paths, lying sizes), each unpacked
//! next to a sentinel directory. After every attempt, whether it was refused or not: nothing
//! exists outside the destination, nothing in it is a special file or a link that leads out,
//! no refusal is an I/O error (a `500`), and an accepted archive stayed within its limits.
//!
//! A small deterministic PRNG, no new crate: a failure names its seed, and the same seed
//! gives the same archive.

use super::{ArchiveError, Limits, unpack_tgz};
use std::fs;
use std::path::Path;

/// xorshift64*: deterministic, good enough to pick cases.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// An entry name: a few components, ordinary or (with `hostile` percent chance each) bad;
/// sometimes absolute, very deep or too long; or one of the names seen before (a duplicate).
pub fn name(rng: &mut Rng, seen: &[Vec<u8>], hostile: usize) -> Vec<u8> {
    if !seen.is_empty() && rng.chance(hostile / 2) {
        return seen[rng.below(seen.len())].clone();
    }
    // Names that are not UTF-8 are ordinary: they are kept as they are.
    let fine: [&[u8]; 9] = [
        b"a",
        b"b",
        b"run.sh",
        b"sentinel",
        b"caf\xc3\xa9",
        b"\xff",
        b"\xfe",
        b"a\xffb",
        b"with space",
    ];
    let bad: [&[u8]; 4] = [b"..", b"", b"x\0y", b"back\\slash/.."];
    let mut out = Vec::new();
    if rng.chance(hostile / 4) {
        out.push(b'/');
    } else if rng.chance(10) {
        out.extend_from_slice(b"./");
    }
    let depth = match rng.below(100) {
        0 => 300 + rng.below(1000),
        1..=10 => 5 + rng.below(20),
        _ => 1 + rng.below(4),
    };
    for i in 0..depth {
        if i > 0 {
            out.push(b'/');
        }
        match rng.below(100) {
            0 if rng.chance(hostile) => out.extend(std::iter::repeat_n(b'L', 250 + rng.below(10))),
            1 if rng.chance(hostile) => {
                out.extend(std::iter::repeat_n(b'M', 4000 + rng.below(200)))
            }
            _ if rng.chance(hostile) => out.extend_from_slice(rng.pick(&bad)),
            _ => {
                out.extend_from_slice(rng.pick(&fine));
                if rng.chance(70) {
                    out.extend_from_slice(rng.below(100).to_string().as_bytes());
                }
            }
        }
    }
    if rng.chance(5) {
        out.push(b'/');
    }
    out
}

/// Everything below `root`, relative, with its kind; links are not followed.
pub fn tree(root: &Path) -> Vec<(std::path::PathBuf, fs::FileType)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(kind) = e.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(e.path());
            }
            let rel = e.path().strip_prefix(root).map(Path::to_path_buf);
            out.push((rel.unwrap_or_else(|_| e.path()), kind));
        }
    }
    out
}

/// A scratch root holding `dest` (where an upload goes) and `sentinel` (which must stay
/// empty); checks the properties after each attempt.
pub struct Arena {
    root: tempfile::TempDir,
}

impl Arena {
    pub fn new() -> Arena {
        // Thousands of small files made and removed: on a tmpfs when there is one.
        let shm = Path::new("/dev/shm");
        let root = if shm.is_dir() {
            tempfile::tempdir_in(shm)
        } else {
            tempfile::tempdir()
        };
        let root = root.expect("temp dir");
        fs::create_dir(root.path().join("sentinel")).expect("sentinel");
        Arena { root }
    }

    /// A fresh, empty destination.
    pub fn dest(&self) -> std::path::PathBuf {
        let dest = self.root.path().join("dest");
        if dest.exists() {
            fs::remove_dir_all(&dest).expect("empty dest");
        }
        fs::create_dir(&dest).expect("dest");
        dest
    }

    /// Nothing outside `dest`, nothing but files and directories in it, and if the attempt
    /// was accepted, no more than `limits`; `bytes` is what the unpacker said it wrote.
    pub fn check(&self, case: &str, accepted: Option<u64>, limits: Limits) {
        let root = self.root.path();
        let mut top: Vec<_> = fs::read_dir(root)
            .expect("root")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        top.sort();
        assert_eq!(
            top,
            ["dest", "sentinel"],
            "{case}: something landed outside dest"
        );
        assert!(
            tree(&root.join("sentinel")).is_empty(),
            "{case}: the sentinel was written"
        );
        let dest = root.join("dest");
        let inside = tree(&dest);
        let real_dest = dest.canonicalize().expect("dest");
        for (rel, kind) in &inside {
            if kind.is_symlink() {
                // A link must stay inside by its text and wherever it resolves to.
                let target = fs::read_link(dest.join(rel)).expect("read link");
                assert!(
                    crate::tree::safe_link(rel, &target),
                    "{case}: {rel:?} links to {target:?}"
                );
                if let Ok(to) = dest.join(rel).canonicalize() {
                    assert!(
                        to.starts_with(&real_dest),
                        "{case}: {rel:?} resolves to {to:?}"
                    );
                }
                continue;
            }
            assert!(
                kind.is_file() || kind.is_dir(),
                "{case}: {rel:?} is a {kind:?}, not a file, directory or link"
            );
        }
        if let Some(bytes) = accepted {
            assert!(
                inside.len() as u64 <= limits.entries,
                "{case}: {} entries over the limit of {}",
                inside.len(),
                limits.entries
            );
            assert!(bytes <= limits.bytes, "{case}: {bytes} bytes accepted");
            let on_disk: u64 = inside
                .iter()
                .filter(|(_, k)| k.is_file())
                .filter_map(|(rel, _)| fs::metadata(root.join("dest").join(rel)).ok())
                .map(|m| m.len())
                .sum();
            assert_eq!(
                on_disk, bytes,
                "{case}: bytes written vs counted in {inside:?}"
            );
        }
    }
}

/// Random limits: half the time small enough to be hit.
pub fn limits(rng: &mut Rng) -> Limits {
    if rng.chance(50) {
        return Limits {
            bytes: 1 << 20,
            entries: 100_000,
        };
    }
    Limits {
        bytes: [100, 1000, 10_000][rng.below(3)],
        entries: [1, 3, 10][rng.below(3)],
    }
}

/// One raw tar header block with `name` (and `link`) written as they are.
fn header(kind: u8, name: &[u8], link: &[u8], size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_size(size);
    h.set_mode(0o755);
    h.set_entry_type(tar::EntryType::new(kind));
    let old = h.as_old_mut();
    let n = name.len().min(old.name.len());
    old.name[..n].copy_from_slice(&name[..n]);
    let l = link.len().min(old.linkname.len());
    old.linkname[..l].copy_from_slice(&link[..l]);
    h.set_cksum();
    h
}

/// A random tar.gz of 1 to 12 hostile entries.
fn archive(rng: &mut Rng) -> Vec<u8> {
    let mut tar = Vec::new();
    let mut seen = Vec::new();
    // Half the archives are mostly fine, so that acceptance is tested as well as refusal.
    let hostile = if rng.chance(50) { 2 } else { 30 };
    let append = |tar: &mut Vec<u8>, h: &tar::Header, data: &[u8]| {
        tar.extend_from_slice(h.as_bytes());
        tar.extend_from_slice(data);
        tar.resize(tar.len().next_multiple_of(512), 0);
    };
    for _ in 0..1 + rng.below(12) {
        let name = name(rng, &seen, hostile);
        seen.push(name.clone());
        let data = vec![b'd'; [0, 1, 99, 700, 5000][rng.below(5)]];
        // How the name travels: in the header, a GNU long name, or a PAX path.
        match rng.below(6) {
            0 => {
                let mut long = name.clone();
                long.push(0);
                append(
                    &mut tar,
                    &header(b'L', b"././@LongLink", b"", long.len() as u64),
                    &long,
                );
            }
            1 => {
                let rest = [b" path=".as_slice(), &name, b"\n"].concat();
                let mut len = rest.len() + 1;
                while len != rest.len() + len.to_string().len() {
                    len = rest.len() + len.to_string().len();
                }
                let record = [len.to_string().as_bytes(), &rest].concat();
                let h = header(b'x', b"PaxHeader", b"", record.len() as u64);
                append(&mut tar, &h, &record);
            }
            2 if rng.chance(hostile) => {
                // An extension header that claims far more than it has.
                append(&mut tar, &header(b'L', b"././@LongLink", b"", 1 << 40), b"");
            }
            _ => {}
        }
        let links: [&[u8]; 8] = [
            b"../sentinel",
            b"/tmp",
            b"a",
            b"../../sentinel/x",
            b"..",
            b"a/..",
            b"./b",
            b"../a",
        ];
        let link = rng.pick(&links);
        let kind = if rng.chance(hostile) {
            rng.pick(b"12346789SKgx")
        } else {
            rng.pick(b"00005\0")
        };
        let size = if matches!(kind, b'0' | b'\0' | b'7') || rng.chance(hostile / 3) {
            data.len()
        } else {
            0
        };
        append(
            &mut tar,
            &header(kind, &name, link, size as u64),
            &data[..size],
        );
    }
    if rng.chance(80) {
        tar.extend_from_slice(&[0; 1024]);
    }
    if rng.chance(hostile / 3) {
        tar.truncate(rng.below(tar.len()));
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &tar).expect("gzip");
    gz.finish().expect("gzip")
}

#[test]
fn random_hostile_tar_gz_never_writes_outside_the_destination() {
    let arena = Arena::new();
    let (mut accepted, mut refused) = (0, 0);
    for seed in 0..2000 {
        let mut rng = Rng::new(seed);
        let tgz = archive(&mut rng);
        let limits = limits(&mut rng);
        let dest = arena.dest();
        let result = unpack_tgz(&tgz[..], &dest, limits);
        let case = format!("seed {seed}: {result:?}");
        assert!(!matches!(result, Err(ArchiveError::Io(_))), "{case}");
        arena.check(&case, result.as_ref().ok().copied(), limits);
        match result {
            Ok(_) => accepted += 1,
            Err(_) => refused += 1,
        }
    }
    // The generator makes both kinds, or the test proves little.
    assert!(
        accepted > 200 && refused > 200,
        "{accepted} accepted, {refused} refused"
    );
}
