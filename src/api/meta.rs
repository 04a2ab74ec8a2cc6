//! What users name, tag and link jobs by (`jobo submit --name/--label/--after/--array`,
//! `jobo restart`), and what the server says about a queued job's wait: the parts of a job's
//! JSON beyond its run.

use crate::job::JobId;
use serde::{Deserialize, Serialize};

/// A job's labels, by key.
pub type Labels = std::collections::BTreeMap<String, String>;

/// Longest name, label key and label value, and most labels per job.
pub const MAX_NAME: usize = 128;
pub const MAX_LABELS: usize = 32;
/// Most jobs one `--array` makes.
pub const MAX_ARRAY: u32 = 1000;
/// Most jobs one `--after` waits for.
pub const MAX_AFTER: usize = 100;

/// Flattened into [`crate::api::Job`]: each field is left out of the JSON when unset.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct JobMeta {
    /// What its submitter called it (`jobo submit --name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `jobo submit --label k=v`: free-form tags to find jobs by.
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub labels: Labels,
    /// A short view of what it runs: the first command line of its `run.sh`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The job this one is a `jobo restart` of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restarted_from: Option<JobId>,
    /// Jobs that must succeed before this one runs (`jobo submit --after`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<JobId>,
    /// The array it belongs to (`jobo submit --array`): the id of the array's first job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub array_id: Option<JobId>,
    /// Its index in the array (`JOBO_ARRAY_INDEX` in its environment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub array_index: Option<u32>,
    /// While queued (as `GET /v1/jobs/{id}` answers): its place among the queued jobs of its
    /// service, 1 being next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_position: Option<u64>,
    /// While queued (as `GET /v1/jobs/{id}` answers): why it does not run yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_reason: Option<String>,
}

/// The answer of `POST /v1/jobs/prune`: the jobs removed, or with `dry_run` those that would be.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pruned {
    pub dry_run: bool,
    pub jobs: Vec<crate::api::Job>,
}

/// Whether `s` may name a job or be a label key: printable, no spaces, no `=` or `,`.
pub fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME
        && s.chars()
            .all(|c| !c.is_control() && !c.is_whitespace() && c != '=' && c != ',')
}

/// Checks a name and labels as a submit gives them.
pub fn check(name: Option<&str>, labels: &Labels) -> Result<(), String> {
    if let Some(n) = name
        && !valid_name(n)
    {
        return Err(format!(
            "invalid job name '{n}': 1 to {MAX_NAME} printable characters, no spaces, '=' or ','"
        ));
    }
    if labels.len() > MAX_LABELS {
        return Err(format!("too many labels: at most {MAX_LABELS}"));
    }
    for (k, v) in labels {
        if !valid_name(k) {
            return Err(format!(
                "invalid label key '{k}': 1 to {MAX_NAME} printable characters, no spaces, '=' or ','"
            ));
        }
        if v.len() > MAX_NAME || v.chars().any(char::is_control) {
            return Err(format!(
                "invalid value of label {k}: at most {MAX_NAME} printable characters"
            ));
        }
    }
    Ok(())
}

/// `k=v` pairs (`--label`, the list filter) as labels; a key given twice is refused.
pub fn parse_labels<S: AsRef<str>>(pairs: &[S]) -> Result<Labels, String> {
    let mut labels = Labels::new();
    for pair in pairs {
        let pair = pair.as_ref();
        let Some((k, v)) = pair.split_once('=') else {
            return Err(format!("label '{pair}': expected KEY=VALUE"));
        };
        if labels.insert(k.to_string(), v.to_string()).is_some() {
            return Err(format!("label {k}: given twice"));
        }
    }
    Ok(labels)
}

/// An inclusive index range `A-B` (or a single `N`), as `--array` takes it.
pub fn parse_array(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("invalid array '{s}': expected FIRST-LAST, e.g. 1-100");
    let (a, b) = match s.split_once('-') {
        Some((a, b)) => (a.trim(), b.trim()),
        None => (s.trim(), s.trim()),
    };
    let (a, b): (u32, u32) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
    if a > b {
        return Err(bad());
    }
    if b - a >= MAX_ARRAY {
        return Err(format!(
            "array '{s}' is too large: at most {MAX_ARRAY} jobs at once"
        ));
    }
    Ok((a, b))
}

/// Job ids separated by commas (`--after 3,4`).
pub fn parse_ids(s: &str) -> Result<Vec<JobId>, String> {
    let ids = s
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| match p.trim().parse::<JobId>() {
            Ok(id) if id > 0 => Ok(id),
            _ => Err(format!(
                "invalid job id '{p}': job ids are positive integers"
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if ids.len() > MAX_AFTER {
        return Err(format!("too many jobs to wait for: at most {MAX_AFTER}"));
    }
    Ok(ids)
}

/// The first line of a `run.sh` that is a command (not empty, not a comment), shortened to
/// what a table column shows.
pub fn command_of(script: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(script);
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))?;
    const MAX: usize = 80;
    Some(if line.chars().count() > MAX {
        let cut: String = line.chars().take(MAX - 1).collect();
        format!("{cut}…")
    } else {
        line.to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_ids_and_labels_parse() {
        assert_eq!(parse_array("1-100"), Ok((1, 100)));
        assert_eq!(parse_array("7"), Ok((7, 7)));
        assert!(parse_array("5-1").is_err());
        assert!(parse_array("0-5000").is_err());
        assert_eq!(parse_ids("3, 4,"), Ok(vec![3, 4]));
        assert!(parse_ids("3,x").is_err());
        let l = parse_labels(&["a=1", "b=x=y"]).expect("labels");
        assert_eq!(l.get("b").map(String::as_str), Some("x=y"));
        assert!(parse_labels(&["a=1", "a=2"]).is_err());
        assert!(check(Some("has space"), &Labels::new()).is_err());
        assert_eq!(
            command_of(b"#!/bin/bash\n\n# hi\n  python train.py --lr 1\n"),
            Some("python train.py --lr 1".into())
        );
    }
}
