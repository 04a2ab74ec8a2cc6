//! When each line of a job's log was written: `jobo logs --since/--timestamps`.
//!
//! Beside each log the executor's copier keeps a time index (`stdout.idx`, `stderr.idx`): one
//! 16-byte record (log offset, Unix time in ns, both little-endian) per chunk it reads from the
//! job's pipe, written *before* the chunk's bytes, so whoever sees bytes in the log finds their
//! record. A line has the time of the chunk it starts in (when jobod read it from the pipe).
//!
//! Bounded: chunks read within a millisecond of the last record share it (no record), so the
//! index grows by at most 16 bytes per millisecond of output and per chunk; and it stops at
//! the log's size cap with one last record saying "time unknown from here".
//!
//! [`Stamper`] turns log bytes into what a reader asked for (lines since a time, each with its
//! time before it); [`Destamper`] reads that back, for the server relaying a node's live log.

use crate::api::time::Rfc3339;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Bytes of one index record.
pub const RECORD: usize = 16;
/// The time of a record after which times are not known (the index reached its cap).
const UNKNOWN: i64 = i64::MIN;
/// Chunks read closer than this to the last record share its time.
const GRAIN: i64 = 1_000_000;
/// What a stamped line carries where its time is not known.
const NO_TIME: &[u8] = b"-";

fn nanos(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_nanos()).ok())
        .unwrap_or(0)
}

/// The copier's side: appends records to one log's index, opened (and emptied of an earlier
/// attempt's records) at the first chunk, so a run without output makes no file.
pub struct IndexWriter {
    path: PathBuf,
    file: Option<std::fs::File>,
    last: Option<i64>,
    /// Bytes the index may still grow by; `None`: no cap.
    room: Option<u64>,
}

impl IndexWriter {
    pub fn new(path: PathBuf, cap: Option<u64>) -> IndexWriter {
        IndexWriter {
            path,
            file: None,
            last: None,
            room: cap,
        }
    }

    /// Notes that the log's bytes from `offset` on were read at `at`. Call it before writing
    /// them to the log.
    pub fn record(&mut self, offset: u64, at: SystemTime) -> std::io::Result<()> {
        let ns = nanos(at);
        let time = match (self.last, self.room) {
            (Some(UNKNOWN), _) => return Ok(()),
            (Some(last), _) if ns.saturating_sub(last) < GRAIN => return Ok(()),
            // The last record that fits says that times stop here.
            (_, Some(room)) if room < 2 * RECORD as u64 => UNKNOWN,
            _ => ns,
        };
        let file = match &mut self.file {
            Some(f) => f,
            None => self.file.insert(crate::logs::create(&self.path)?),
        };
        let mut rec = [0u8; RECORD];
        rec[..8].copy_from_slice(&offset.to_le_bytes());
        rec[8..].copy_from_slice(&time.to_le_bytes());
        file.write_all(&rec)?;
        self.last = Some(time);
        if let Some(room) = &mut self.room {
            *room = room.saturating_sub(RECORD as u64);
        }
        Ok(())
    }
}

/// The reader's side: the records of one index as far as read, re-read as the log grows.
#[derive(Debug, Default)]
pub struct TimeIndex {
    /// (offset, ns), offsets ascending.
    records: Vec<(u64, i64)>,
    /// Bytes of the index file read (whole records only).
    read: u64,
}

impl TimeIndex {
    /// Reads the records appended to `path` since the last call (none while it is missing).
    pub fn refresh(&mut self, path: &Path) -> std::io::Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        let mut file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        file.seek(SeekFrom::Start(self.read))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        for rec in bytes.chunks_exact(RECORD) {
            let mut off = [0u8; 8];
            let mut ns = [0u8; 8];
            off.copy_from_slice(&rec[..8]);
            ns.copy_from_slice(&rec[8..]);
            self.records
                .push((u64::from_le_bytes(off), i64::from_le_bytes(ns)));
            self.read += RECORD as u64;
        }
        Ok(())
    }

    /// Whether every record of the log's bytes before `end` is known (a later one is).
    pub fn covers(&self, end: u64) -> bool {
        self.records.last().is_some_and(|(off, _)| *off >= end)
    }

    /// The time of the byte at `offset`: that of the last chunk starting at or before it.
    pub fn time_at(&self, offset: u64) -> Option<SystemTime> {
        let i = self.records.partition_point(|(off, _)| *off <= offset);
        let (_, ns) = *self.records.get(i.checked_sub(1)?)?;
        let ns = u64::try_from(ns).ok()?;
        Some(UNIX_EPOCH + Duration::from_nanos(ns))
    }
}

/// The indexes' names in a job or payload dir, beside `stdout.log` and `stderr.log`.
pub const INDEXES: [&str; 2] = ["stdout.idx", "stderr.idx"];

/// Path of the index beside `log` (`stdout.log` → `stdout.idx`).
pub fn index_of(log: &Path) -> PathBuf {
    log.with_extension("idx")
}

/// Turns log bytes into the lines a reader asked for: only those from `since` on, each after
/// its time and a space with `stamp` (a line whose time is not known: `-`, and kept).
pub struct Stamper {
    since: Option<SystemTime>,
    stamp: bool,
    /// A line not yet ended, and its time.
    pending: Vec<u8>,
    pending_time: Option<SystemTime>,
}

impl Stamper {
    pub fn new(since: Option<SystemTime>, stamp: bool) -> Stamper {
        Stamper {
            since,
            stamp,
            pending: Vec::new(),
            pending_time: None,
        }
    }

    /// The whole lines of `data` (the log's bytes from `at` on), each dated by `time_at` of
    /// the offset it starts at; a line's end waits for the next call.
    pub fn feed(
        &mut self,
        data: &[u8],
        at: u64,
        time_at: &dyn Fn(u64) -> Option<SystemTime>,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let mut start = 0;
        for end in memchr_all(data) {
            let line = &data[start..=end];
            if self.pending.is_empty() {
                self.emit(time_at(at + start as u64), line, &mut out);
            } else {
                let mut whole = std::mem::take(&mut self.pending);
                whole.extend_from_slice(line);
                self.emit(self.pending_time, &whole, &mut out);
            }
            start = end + 1;
        }
        if start < data.len() {
            if self.pending.is_empty() {
                self.pending_time = time_at(at + start as u64);
            }
            self.pending.extend_from_slice(&data[start..]);
        }
        out
    }

    /// The last line, which has no newline, once the log is complete.
    pub fn finish(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        if !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            self.emit(self.pending_time, &line, &mut out);
        }
        out
    }

    fn emit(&self, time: Option<SystemTime>, line: &[u8], out: &mut Vec<u8>) {
        if let (Some(since), Some(t)) = (self.since, time)
            && t < since
        {
            return;
        }
        if self.stamp {
            match time {
                Some(t) => out.extend_from_slice(Rfc3339(t).to_string().as_bytes()),
                None => out.extend_from_slice(NO_TIME),
            }
            out.push(b' ');
        }
        out.extend_from_slice(line);
    }
}

fn memchr_all(data: &[u8]) -> impl Iterator<Item = usize> + '_ {
    data.iter()
        .enumerate()
        .filter_map(|(i, b)| (*b == b'\n').then_some(i))
}

/// Reads stamped lines (a [`Stamper`]'s with `stamp`, no `since`) back into each line's time
/// and its bytes as in the log.
#[derive(Default)]
pub struct Destamper {
    pending: Vec<u8>,
}

/// One log line and its time.
pub type Dated = (Option<SystemTime>, Vec<u8>);

impl Destamper {
    /// The whole lines in `data`, newline kept.
    pub fn feed(&mut self, data: &[u8]) -> Vec<Dated> {
        self.pending.extend_from_slice(data);
        let Some(end) = self.pending.iter().rposition(|b| *b == b'\n') else {
            return Vec::new();
        };
        let done: Vec<u8> = self.pending.drain(..=end).collect();
        done.split_inclusive(|b| *b == b'\n').map(destamp).collect()
    }

    /// The last line (no newline), once the stream ended whole.
    pub fn finish(&mut self) -> Option<Dated> {
        (!self.pending.is_empty()).then(|| destamp(&std::mem::take(&mut self.pending)))
    }
}

fn destamp(stamped: &[u8]) -> Dated {
    let Some(space) = stamped.iter().position(|b| *b == b' ') else {
        return (None, stamped.to_vec());
    };
    let time = std::str::from_utf8(&stamped[..space])
        .ok()
        .and_then(|s| Rfc3339::parse(s).ok())
        .map(|t| t.0);
    (time, stamped[space + 1..].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn records_are_written_before_bytes_and_read_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("stdout.idx");
        let mut w = IndexWriter::new(path.clone(), None);
        w.record(0, at(10)).expect("record");
        // Within the grain: no record, these bytes share the last time.
        w.record(5, at(10) + Duration::from_micros(10))
            .expect("record");
        w.record(8, at(20)).expect("record");
        let mut idx = TimeIndex::default();
        idx.refresh(&path).expect("read");
        assert_eq!(std::fs::metadata(&path).expect("size").len(), 32);
        assert_eq!(idx.time_at(0), Some(at(10)));
        assert_eq!(idx.time_at(7), Some(at(10)));
        assert_eq!(idx.time_at(8), Some(at(20)));
        assert!(idx.covers(8) && !idx.covers(9));
        w.record(30, at(30)).expect("record");
        idx.refresh(&path).expect("read");
        assert_eq!(idx.time_at(100), Some(at(30)));
    }

    #[test]
    fn a_capped_index_ends_with_unknown_times() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("stdout.idx");
        let mut w = IndexWriter::new(path.clone(), Some(3 * RECORD as u64));
        for i in 0..10 {
            w.record(i * 10, at(i + 1)).expect("record");
        }
        assert_eq!(std::fs::metadata(&path).expect("size").len(), 48);
        let mut idx = TimeIndex::default();
        idx.refresh(&path).expect("read");
        assert_eq!(idx.time_at(5), Some(at(1)));
        assert_eq!(idx.time_at(15), Some(at(2)));
        assert_eq!(idx.time_at(25), None);
        assert_eq!(idx.time_at(95), None);
    }

    #[test]
    fn lines_take_the_time_of_the_chunk_they_start_in() {
        let time_at = |off: u64| Some(at(if off < 4 { 1 } else { 2 }));
        let mut s = Stamper::new(None, true);
        // "a\n" and "bc" in the first chunk (0..4), "c" ends in the second.
        let mut out = s.feed(b"a\nbc", 0, &time_at);
        out.extend(s.feed(b"c\nd\ne", 4, &time_at));
        out.extend(s.finish());
        let t1 = "1970-01-01T00:00:01.000000000Z";
        let t2 = "1970-01-01T00:00:02.000000000Z";
        let want = format!("{t1} a\n{t1} bcc\n{t2} d\n{t2} e");
        assert_eq!(String::from_utf8_lossy(&out), want);

        let mut back = Destamper::default();
        let lines = back.feed(&out);
        assert_eq!(lines[1], (Some(at(1)), b"bcc\n".to_vec()));
        assert_eq!(lines.len(), 3);
        assert_eq!(back.finish(), Some((Some(at(2)), b"e".to_vec())));
    }

    #[test]
    fn since_drops_older_lines_and_keeps_unknown_ones() {
        let time_at = |off: u64| match off {
            0..4 => Some(at(1)),
            4..8 => None,
            _ => Some(at(3)),
        };
        let mut s = Stamper::new(Some(at(2)), false);
        let out = s.feed(b"old\nwho\nnew\n", 0, &time_at);
        assert_eq!(out, b"who\nnew\n");
        let mut s = Stamper::new(None, true);
        let out = s.feed(b"old\nwho\n", 0, &time_at);
        assert!(out.ends_with(b"\n- who\n"));
    }
}
