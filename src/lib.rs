//! jobo: a job orchestrator. `jobod` queues batch jobs (a directory with a `run.sh`), runs
//! them fairly on workers and keeps their results; `jobo` is its command-line client.
//!
//! See `ARCHITECTURE.md` for a map of these modules and the path of one job through them.

pub mod account;
pub mod api;
pub mod archive;
pub mod as_user;
pub mod audit;
pub mod backend;
pub mod backends;
pub mod bridge;
pub mod cgroup;
pub mod cleaner;
pub mod cli;
pub mod client;
pub mod cluster;
pub mod config;
pub mod core;
pub mod daemon;
pub mod events;
pub mod executor;
pub mod failpoints;
pub mod host;
pub mod http;
pub mod job;
pub mod jobenv;
pub mod limits;
pub mod local;
pub mod logs;
pub mod logtime;
pub mod metrics;
pub mod netns;
pub mod node;
pub mod paths;
pub mod perms;
pub mod placement;
pub mod process;
pub mod protocol;
pub mod queue;
pub mod reload;
pub mod run_as;
pub mod scheduler;
pub mod secret;
/// `jobod config import-seed`: a `jobod.toml` from job-orchestrator 2.3.1's environment variables.
pub mod seed_import;
pub mod server;
pub mod spawn;
pub mod state;
pub mod store;
pub mod systemd;
pub mod tls;
pub mod token;
pub mod tree;
pub mod validator;
