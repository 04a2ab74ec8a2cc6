//! The job table of `jobo status` and `jobo list`: one row per job, the jobs of an array
//! folded into one row with their counts by state, fitted to the terminal's width by
//! dropping the columns that matter least, then wrapping what is left.

use super::output::{ago, runtime, table};
use crate::api::Job;
use crate::job::JobState;
use comfy_table::{ColumnConstraint, ContentArrangement, Width};
use std::collections::BTreeMap;

const HEADER: [&str; 10] = [
    "ID",
    "NAME",
    "STATE",
    "USER",
    "SERVICE",
    "NODE",
    "SUBMITTED",
    "RUNTIME",
    "EXIT",
    "COMMAND",
];
/// Columns left out, in this order, while the table is wider than the terminal.
const DROP_ORDER: [&str; 6] = ["NODE", "EXIT", "USER", "SUBMITTED", "COMMAND", "SERVICE"];
/// The command column's widest cell: it is a hint, `jobo status ID` has the whole line.
const COMMAND_WIDTH: usize = 32;

/// The width to fit: `COLUMNS` when set, else the terminal's when stdout is one; `None`
/// (no limit) when stdout is a pipe or a file.
pub fn width() -> Option<usize> {
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
    {
        return Some(n);
    }
    // SAFETY: TIOCGWINSZ fills a winsize struct we own; fd 1 may be anything, and the call
    // fails harmlessly when it is not a terminal.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(1, libc::TIOCGWINSZ, &mut ws) } == 0;
    (ok && ws.ws_col > 0).then_some(usize::from(ws.ws_col))
}

/// One row's cells, by column.
type Row = [String; 10];

fn row(j: &Job) -> Row {
    let dash = || "-".to_string();
    [
        j.id.to_string(),
        j.meta.name.clone().unwrap_or_else(dash),
        j.state.to_string(),
        j.user.clone(),
        j.service.clone(),
        j.node.as_ref().map_or_else(dash, ToString::to_string),
        ago(j.submitted_at),
        runtime(j).unwrap_or_else(dash),
        j.exit_code.map_or_else(dash, |c| c.to_string()),
        j.meta
            .command
            .as_deref()
            .map_or_else(dash, |c| shorten(c, COMMAND_WIDTH)),
    ]
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max - 1).collect();
    format!("{cut}…")
}

/// The row of an array: its first job's id with the index range, and how many of its jobs
/// are in each state. `members` is every job of the array.
fn array_row(first: &Job, members: &[&Job]) -> Row {
    let mut r = row(first);
    let indices: Vec<u32> = members.iter().filter_map(|j| j.meta.array_index).collect();
    let (lo, hi) = (
        indices.iter().min().copied().unwrap_or(0),
        indices.iter().max().copied().unwrap_or(0),
    );
    r[0] = format!("{}[{lo}-{hi}]", first.id);
    let mut counts: BTreeMap<usize, (JobState, usize)> = BTreeMap::new();
    for j in members {
        let order = JobState::ALL
            .iter()
            .position(|s| *s == j.state)
            .unwrap_or(0);
        counts.entry(order).or_insert((j.state, 0)).1 += 1;
    }
    let parts: Vec<String> = counts
        .values()
        .map(|(state, n)| format!("{n} {state}"))
        .collect();
    r[2] = parts.join(", ");
    r[5] = "-".into();
    let started: Vec<i64> = members.iter().filter_map(|j| j.started_at).collect();
    r[7] = match started.iter().min() {
        Some(&start) if members.iter().all(|j| j.state.is_terminal()) => {
            let end = members
                .iter()
                .filter_map(|j| j.finished_at)
                .max()
                .unwrap_or(start);
            super::output::short_duration((end - start).max(0) as u64)
        }
        Some(&start) => {
            super::output::short_duration((crate::store::now_ms() - start).max(0) as u64)
        }
        None => "-".into(),
    };
    let failed = members
        .iter()
        .filter(|j| j.exit_code.is_some_and(|c| c != 0))
        .count();
    r[8] = if failed > 0 {
        format!("{failed} failed")
    } else {
        "-".into()
    };
    r
}

/// The table of `jobs` (newest first). `arrays` holds every job of each array that has a
/// job in `jobs`: an array is one row, where its newest listed job would be.
pub fn jobs_table(jobs: &[Job], arrays: &BTreeMap<i64, Vec<Job>>, width: Option<usize>) -> String {
    let mut rows: Vec<Row> = Vec::new();
    let mut folded = std::collections::HashSet::new();
    for j in jobs {
        match j.meta.array_id {
            Some(a) if arrays.contains_key(&a) => {
                if folded.insert(a) {
                    let members: Vec<&Job> = arrays[&a].iter().collect();
                    let first = members.iter().find(|m| m.id == a).copied().unwrap_or(j);
                    rows.push(array_row(first, &members));
                }
            }
            _ => rows.push(row(j)),
        }
    }
    render(&rows, width)
}

fn render(rows: &[Row], width: Option<usize>) -> String {
    let mut keep: Vec<usize> = (0..HEADER.len()).collect();
    // A NAME column of dashes only says nothing.
    if rows.iter().all(|r| r[1] == "-") {
        keep.retain(|&c| HEADER[c] != "NAME");
    }
    let widest = |c: usize| {
        rows.iter()
            .map(|r| r[c].chars().count())
            .chain([HEADER[c].len()])
            .max()
            .unwrap_or(0)
    };
    // Each column takes its widest cell plus one space of padding on either side.
    let total = |keep: &[usize]| keep.iter().map(|&c| widest(c) + 2).sum::<usize>();
    if let Some(w) = width {
        for drop in DROP_ORDER {
            if total(&keep) <= w {
                break;
            }
            keep.retain(|&c| HEADER[c] != drop);
        }
    }
    let mut t = table();
    t.set_header(keep.iter().map(|&c| HEADER[c]));
    for r in rows {
        t.add_row(keep.iter().map(|&c| r[c].clone()));
    }
    if let Some(w) = width {
        t.set_content_arrangement(ContentArrangement::Dynamic);
        t.set_width(u16::try_from(w).unwrap_or(u16::MAX));
        // The id and state stay whole; the other columns wrap.
        for (i, &c) in keep.iter().enumerate() {
            if matches!(HEADER[c], "ID" | "STATE")
                && let Some(col) = t.column_mut(i)
            {
                let need = u16::try_from(widest(c).min(w / 2)).unwrap_or(u16::MAX);
                col.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(need)));
            }
        }
    }
    t.trim_fmt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(id: &str, name: &str, state: &str, command: &str) -> Row {
        [
            id.into(),
            name.into(),
            state.into(),
            "alice".into(),
            "example".into(),
            "local".into(),
            "3m ago".into(),
            "20.1s".into(),
            "0".into(),
            command.into(),
        ]
    }

    #[test]
    fn tables_fit_narrow_terminals() {
        let rows = vec![
            cells(
                "12",
                "train-resnet",
                "running",
                "python train.py --epochs 10",
            ),
            cells("11", "-", "succeeded", "bash prepare.sh"),
        ];
        let text = render(&rows, Some(60));
        for line in text.lines() {
            assert!(line.chars().count() <= 60, "{line:?} in\n{text}");
        }
        assert!(
            text.contains("train-resnet") && text.contains("succeeded"),
            "{text}"
        );
        // Unbounded: every column.
        assert!(render(&rows, None).contains("COMMAND"));
    }
}
