//! Fault injection for the durability tests: named points in the code where a test can make
//! jobod fail, pause or die at a precise moment (`FAILPOINTS=name=action` in jobod's
//! environment; actions as the `fail` crate's: `return`, `2*return`, `pause`, `panic` …).
//!
//! Compiled in only with the `failpoints` feature, which the tests turn on (Cargo.toml's
//! dev-dependency on this package); release builds carry none of it.

/// Marks a failpoint in code that returns `Result<_, E>` with `E: From<rusqlite::Error>`:
/// `return` makes it fail as a full disk would; other actions (`pause`, `sleep(ms)`, `panic`)
/// act in place.
#[macro_export]
macro_rules! failpoint {
    ($name:literal) => {
        #[cfg(feature = "failpoints")]
        fail::fail_point!($name, |_| Err($crate::failpoints::disk_full($name).into()));
    };
}

/// Marks a point where a test can only delay or stop the code (`sleep(ms)`, `pause`,
/// `panic`): for places with nothing to fail, such as just after a run is spawned.
#[macro_export]
macro_rules! delaypoint {
    ($name:literal) => {
        #[cfg(feature = "failpoints")]
        fail::fail_point!($name);
    };
}

/// What a `return` failpoint fails with: SQLite's "database or disk is full".
#[cfg(feature = "failpoints")]
pub fn disk_full(name: &str) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
        Some(format!("failpoint {name}")),
    )
}

/// Reads `FAILPOINTS` from the environment; kept for the life of the process.
#[cfg(feature = "failpoints")]
pub fn setup() -> Option<fail::FailScenario<'static>> {
    Some(fail::FailScenario::setup())
}

#[cfg(not(feature = "failpoints"))]
pub fn setup() -> Option<()> {
    None
}
