//! Where a job runs: on the worker embedded in `jobod`, or on one remote node.
//!
//! The scheduler picks it, the store keeps it (the `node` column, as text: `local` or the
//! node's name, which is how databases of every version hold it), the backends are chosen by
//! it, and the API shows it as the job's `node`: a string, `"local"` or the node's name. No
//! node may be named `local`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Where a job runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Placement {
    /// The worker embedded in jobod.
    Local,
    /// A remote node, by its name (unique among nodes, never `local`).
    Node(String),
}

impl Placement {
    /// What the embedded worker is called in the store, the API and `jobo node ls`.
    pub const LOCAL: &'static str = "local";

    /// The placement a stored or shown name stands for.
    pub fn parse(name: &str) -> Placement {
        if name == Placement::LOCAL {
            Placement::Local
        } else {
            Placement::Node(name.to_string())
        }
    }

    /// Its name: `local` or the node's.
    pub fn as_str(&self) -> &str {
        match self {
            Placement::Local => Placement::LOCAL,
            Placement::Node(name) => name,
        }
    }

    pub fn is_local(&self) -> bool {
        matches!(self, Placement::Local)
    }

    /// The remote node's name, if it is one.
    pub fn node(&self) -> Option<&str> {
        match self {
            Placement::Local => None,
            Placement::Node(name) => Some(name),
        }
    }
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Placement {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Placement {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Placement, D::Error> {
        let name = String::deserialize(d)?;
        Ok(Placement::parse(&name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in [Placement::Local, Placement::Node("n1:9000".into())] {
            assert_eq!(Placement::parse(p.as_str()), p);
            let json = serde_json::to_string(&p).unwrap_or_default();
            assert_eq!(json, format!("\"{p}\""));
            assert_eq!(serde_json::from_str::<Placement>(&json).ok(), Some(p));
        }
        assert_eq!(Placement::Local.to_string(), "local");
    }
}
