//! The script validator: `run.sh` checked line by line against named rules ([`rules`]) before
//! a job is accepted (at submit, on both APIs) and again on a worker node before it runs.
//!
//! It is a sanity check, not a sandbox: it stops the obvious (a script that wipes a disk,
//! opens a reverse shell or mines coins), as the old system's client did, and anyone
//! determined can write around it. Per service it can be turned off (`validator = false`),
//! rules or whole categories skipped (`allow_rules`), lines let through (`allow`, regexes)
//! and rules added (`deny`, regexes).
//!
//! The built-in rules are compiled once per process; a service's own `allow` and `deny`
//! once per config (or once per push on a node).

pub mod rules;

use regex::{RegexSet, RegexSetBuilder};
use rules::{Category, RULES};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, LazyLock};

/// The largest `run.sh` the validator reads; a bigger one is refused while it is on.
pub const MAX_SCRIPT_BYTES: u64 = 1 << 20;

/// A service's validator settings, as configured and as sent to nodes with a push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub enabled: bool,
    /// Built-in rules or categories not applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_rules: Vec<String>,
    /// Lines matching any of these pass.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    /// Extra rules, named `deny[N]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            enabled: true,
            allow_rules: Vec::new(),
            allow: Vec::new(),
            deny: Vec::new(),
        }
    }
}

/// Why a script was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error(
        "run.sh line {line} is refused by the script validator, rule '{rule}' ({category}: {why}): {text}"
    )]
    Rule {
        rule: String,
        category: &'static str,
        why: &'static str,
        line: usize,
        text: String,
    },
    #[error(
        "run.sh is {0} bytes; the script validator reads at most {MAX_SCRIPT_BYTES} (a service with validator = false takes it)"
    )]
    TooLarge(u64),
}

/// Settings that do not compile.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("unknown validator rule or category '{0}' in allow_rules")]
    UnknownRule(String),
    #[error("invalid regex in validator {key}: {source}")]
    Regex {
        key: &'static str,
        source: Box<regex::Error>,
    },
}

/// The built-in rules, compiled once.
static BUILTIN: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new(RULES.iter().map(|r| r.pattern)).expect("the built-in validator rules compile")
});

/// The validator of the default settings (built-in rules only), shared.
pub fn builtin() -> Option<Arc<Validator>> {
    static DEFAULT: LazyLock<Option<Arc<Validator>>> = LazyLock::new(|| {
        Validator::new(&Settings::default())
            .ok()
            .flatten()
            .map(Arc::new)
    });
    DEFAULT.clone()
}

/// A compiled validator for one set of [`Settings`].
#[derive(Debug)]
pub struct Validator {
    /// Per built-in rule: applied or skipped.
    applied: Vec<bool>,
    deny: Option<(RegexSet, Vec<String>)>,
    allow: Option<RegexSet>,
}

fn set(key: &'static str, patterns: &[String]) -> Result<Option<RegexSet>, SettingsError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    RegexSetBuilder::new(patterns)
        .build()
        .map(Some)
        .map_err(|e| SettingsError::Regex {
            key,
            source: Box::new(e),
        })
}

impl Validator {
    /// `None` when the settings turn the validator off.
    pub fn new(settings: &Settings) -> Result<Option<Validator>, SettingsError> {
        if !settings.enabled {
            return Ok(None);
        }
        // Compiled here (at config load), not on the first submit.
        LazyLock::force(&BUILTIN);
        let mut applied = vec![true; RULES.len()];
        for name in &settings.allow_rules {
            let category = Category::ALL.iter().find(|c| c.name() == name);
            let mut known = false;
            for (i, rule) in RULES.iter().enumerate() {
                if rule.name == name || category == Some(&rule.category) {
                    applied[i] = false;
                    known = true;
                }
            }
            if !known {
                return Err(SettingsError::UnknownRule(name.clone()));
            }
        }
        let deny = set("deny", &settings.deny)?.map(|s| (s, settings.deny.clone()));
        Ok(Some(Validator {
            applied,
            deny,
            allow: set("allow", &settings.allow)?,
        }))
    }

    /// Checks a whole script; the first refused line is the answer.
    pub fn check(&self, script: &[u8]) -> Result<(), Rejection> {
        if script.len() as u64 > MAX_SCRIPT_BYTES {
            return Err(Rejection::TooLarge(script.len() as u64));
        }
        let text = String::from_utf8_lossy(script);
        for (line, code) in logical_lines(&text) {
            let code = strip_comment(&code);
            if code.trim().is_empty() {
                continue;
            }
            if let Some(rejection) = self.check_line(line, code)
                && !self.allow.as_ref().is_some_and(|a| a.is_match(code))
            {
                return Err(rejection);
            }
        }
        Ok(())
    }

    fn check_line(&self, line: usize, code: &str) -> Option<Rejection> {
        let text = shorten(code.trim());
        if let Some(i) = BUILTIN.matches(code).iter().find(|&i| self.applied[i]) {
            let rule = &RULES[i];
            return Some(Rejection::Rule {
                rule: rule.name.to_string(),
                category: rule.category.name(),
                why: rule.why,
                line,
                text,
            });
        }
        let (set, _) = self.deny.as_ref()?;
        let i = set.matches(code).iter().next()?;
        Some(Rejection::Rule {
            rule: format!("deny[{i}]"),
            category: "service rule",
            why: "matches one of the service's deny patterns",
            line,
            text,
        })
    }
}

/// A line as shown in a rejection: at most 120 characters.
fn shorten(line: &str) -> String {
    match line.char_indices().nth(120) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_string(),
    }
}

/// The script's lines with backslash continuations joined, each with the number of its first
/// physical line.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let (start, mut acc) = current.take().unwrap_or((i + 1, String::new()));
        match raw.strip_suffix('\\') {
            Some(head) => {
                acc.push_str(head);
                acc.push(' ');
                current = Some((start, acc));
            }
            None => {
                acc.push_str(raw);
                out.push((start, acc));
            }
        }
    }
    out.extend(current);
    out
}

/// The line without its comment: from a `#` that starts a word outside quotes.
fn strip_comment(line: &str) -> &str {
    let (mut single, mut double, mut prev) = (false, false, ' ');
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single && prev != '\\' => double = !double,
            '#' if !single
                && !double
                && (prev.is_whitespace() || matches!(prev, ';' | '&' | '|' | '(')) =>
            {
                return &line[..i];
            }
            _ => {}
        }
        prev = c;
    }
    line
}

#[cfg(test)]
mod tests;
