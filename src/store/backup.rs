//! `jobod backup PATH`: a consistent copy of the job store, taken while jobod serves.
//!
//! `VACUUM INTO` writes the copy from one read transaction, so it is a snapshot of committed
//! state; in WAL mode that reader does not hold up the daemon's writers. No extra rusqlite
//! feature is needed (the online backup API would need `backup`). The copy is written under
//! a temporary name beside PATH, checked with `integrity_check`, synced, then linked to PATH,
//! which fails if PATH exists: an existing file is never overwritten, and PATH never holds a
//! half-written copy. Job files are not part of it.

use super::identity;
use crate::paths::DataDir;
use anyhow::Context;
use rusqlite::{Connection, OpenFlags};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Removes the temporary copy unless it was handed over.
struct Partial(Option<PathBuf>);

impl Drop for Partial {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Copies the store of `data` to `dest` and prints what was copied to `out`.
pub fn backup(data: &DataDir, dest: &Path, out: &mut dyn Write) -> anyhow::Result<()> {
    if dest.symlink_metadata().is_ok() {
        anyhow::bail!(
            "{} exists: not overwriting it (pick a new file name)",
            dest.display()
        );
    }
    let db = data.db();
    match std::fs::metadata(&db) {
        Ok(m) if m.len() > 0 => {}
        Ok(_) => anyhow::bail!(
            "the job store {} is empty: nothing to back up",
            db.display()
        ),
        Err(e) => {
            return Err(e).with_context(|| format!("no job store at {}", db.display()));
        }
    }
    let name = dest
        .file_name()
        .with_context(|| format!("{} is not a file name", dest.display()))?
        .to_string_lossy()
        .into_owned();
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    anyhow::ensure!(
        parent.is_dir(),
        "cannot write {}: {} is not a directory",
        dest.display(),
        parent.display()
    );
    let tmp = parent.join(format!(".{name}.partial-{}", std::process::id()));
    let tmp_str = tmp
        .to_str()
        .with_context(|| format!("{} is not UTF-8: SQLite cannot write there", tmp.display()))?
        .to_string();
    // Our own name: a leftover of this very pid's earlier crash, not anyone's file.
    let _ = std::fs::remove_file(&tmp);
    let mut partial = Partial(Some(tmp.clone()));
    // Made empty and 0600 first (VACUUM INTO fills an empty file): the copy holds the node
    // tokens, and must not be readable by anyone else even while it is written.
    {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(crate::perms::PRIVATE_FILE)
            .open(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
    }

    let source = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .with_context(|| format!("cannot open {}", db.display()))?;
    source.busy_timeout(std::time::Duration::from_secs(10))?;
    source
        .execute("VACUUM INTO ?1", [&tmp_str])
        .with_context(|| format!("cannot copy {} (run `jobod check`)", db.display()))?;
    drop(source);

    let summary = verify(&tmp).with_context(|| {
        format!(
            "the copy of {} is not sound, so it was not kept; run `jobod check`",
            db.display()
        )
    })?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("cannot sync {}", tmp.display()))?;
    match std::fs::hard_link(&tmp, dest) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => anyhow::bail!(
            "{} exists: not overwriting it (pick a new file name)",
            dest.display()
        ),
        // A file system without hard links: rename, after checking again.
        Err(_) if dest.symlink_metadata().is_err() => {
            std::fs::rename(&tmp, dest)
                .with_context(|| format!("cannot write {}", dest.display()))?;
            partial.0 = None;
        }
        Err(e) => return Err(e).with_context(|| format!("cannot write {}", dest.display())),
    }
    drop(partial);
    let _ = std::fs::File::open(&parent).and_then(|d| d.sync_all());

    let size = std::fs::metadata(dest).map_or(0, |m| m.len());
    writeln!(
        out,
        "backed up {} to {}: {} jobs (newest {}), {} bytes, data dir id {}, integrity ok",
        db.display(),
        dest.display(),
        summary.jobs,
        summary.newest.map_or("none".to_string(), |n| n.to_string()),
        size,
        summary.id.as_deref().unwrap_or("none yet"),
    )?;
    writeln!(
        out,
        "the job files in {} are not in it. To restore: stop jobod, move jobo.db, jobo.db-wal and \
         jobo.db-shm out of {}, copy the backup to {}",
        data.jobs().display(),
        data.root().display(),
        db.display()
    )?;
    Ok(())
}

struct Summary {
    jobs: u64,
    newest: Option<i64>,
    id: Option<String>,
}

/// Checks the copy and says what is in it.
fn verify(copy: &Path) -> anyhow::Result<Summary> {
    let conn = Connection::open_with_flags(copy, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    let mut stmt = conn.prepare("PRAGMA integrity_check(10)")?;
    let lines = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    drop(stmt);
    anyhow::ensure!(lines == ["ok"], "integrity_check: {}", lines.join("; "));
    let (jobs, newest) = conn.query_row("SELECT COUNT(*), MAX(id) FROM jobs", [], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    Ok(Summary {
        jobs,
        newest,
        id: identity::store_id(&conn)?,
    })
}
