//! `--format TEMPLATE` of `jobo status` and `list`: one line per job, `{field}` replaced by
//! that field of the job's JSON (as `--json` prints it), `{labels.team}` reaching into an
//! object. Docker's `{{.field}}` is read the same way, so `docker ps --format` habits work.
//! Strings print bare, a missing or null field as nothing, objects and arrays as JSON;
//! `\t` and `\n` are a tab and a newline.

use serde_json::Value;

/// One piece of a parsed template.
#[derive(Debug, PartialEq)]
enum Part {
    Text(String),
    Field(Vec<String>),
}

#[derive(Debug)]
pub struct Template(Vec<Part>);

impl Template {
    pub fn parse(text: &str) -> Result<Template, String> {
        let text = text.replace("\\t", "\t").replace("\\n", "\n");
        let mut parts = Vec::new();
        let mut rest = text.as_str();
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
            }
            let after = &rest[open..];
            let (inner, close_len, open_len) = if let Some(docker) = after.strip_prefix("{{") {
                let end = docker
                    .find("}}")
                    .ok_or_else(|| format!("unclosed '{{{{' in --format '{text}'"))?;
                (&docker[..end], 2, 2)
            } else {
                let end = after[1..]
                    .find('}')
                    .ok_or_else(|| format!("unclosed '{{' in --format '{text}'"))?;
                (&after[1..=end], 1, 1)
            };
            let path = inner.trim().trim_start_matches('.');
            if path.is_empty() || path.contains(char::is_whitespace) {
                return Err(format!(
                    "invalid field '{inner}' in --format: write {{id}} or {{labels.key}}"
                ));
            }
            parts.push(Part::Field(path.split('.').map(str::to_string).collect()));
            rest = &after[open_len + inner.len() + close_len..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template(parts))
    }

    pub fn render(&self, value: &Value) -> String {
        let mut out = String::new();
        for part in &self.0 {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Field(path) => {
                    let found = path.iter().try_fold(value, |v, key| v.get(key));
                    match found {
                        None | Some(Value::Null) => {}
                        Some(Value::String(s)) => out.push_str(s),
                        Some(other) => out.push_str(&other.to_string()),
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_read_fields() {
        let job = serde_json::json!({"id": 7, "state": "queued", "labels": {"team": "ml"},
            "name": null});
        let t = Template::parse("{id} {state}\\t{labels.team}|{name}|{{.id}}").expect("parse");
        assert_eq!(t.render(&job), "7 queued\tml||7");
        assert!(Template::parse("{id").is_err());
        assert!(Template::parse("{}").is_err());
        assert_eq!(
            Template::parse("plain").expect("parse").render(&job),
            "plain"
        );
    }
}
