//! [`Lazy`]: a part of the command line that clap defines only when the parser reaches it.
//!
//! clap builds the whole command tree before it parses: every argument of every subcommand,
//! each help text copied to the heap. For `jobo` that was about 65 page faults of the ≈ 185
//! a `jobo --version` takes (≈ 0.3 ms on a VM where a fault costs ≈ 3 µs), paid again by
//! every command, `submit` included. Wrapped in `Lazy`, a subcommand's arguments (or a
//! group's subcommands) are added by [`clap::Command::defer`] when that subcommand is chosen;
//! its name and the variant's doc comment stay in the tree, for `jobo --help`.
//!
//! Whatever reads the whole tree (`--help` of a group, completions, man pages, the tests)
//! calls `Command::build`, which runs every deferred part first.

use clap::{ArgMatches, Args, Command, FromArgMatches, Subcommand};

/// `T`'s arguments (an [`Args`]) or subcommands (a [`Subcommand`]), defined on first use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lazy<T>(pub T);

impl<T> std::ops::Deref for Lazy<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: FromArgMatches> FromArgMatches for Lazy<T> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches(matches).map(Lazy)
    }
    fn from_arg_matches_mut(matches: &mut ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches_mut(matches).map(Lazy)
    }
    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(matches)
    }
    fn update_from_arg_matches_mut(&mut self, matches: &mut ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches_mut(matches)
    }
}

/// Only as a subcommand's whole set of arguments (a newtype variant): a command holds one
/// deferred definition, so a second `Lazy` flattened into the same command would replace it.
impl<T: Args> Args for Lazy<T> {
    fn augment_args(cmd: Command) -> Command {
        cmd.defer(T::augment_args)
    }
    fn augment_args_for_update(cmd: Command) -> Command {
        cmd.defer(T::augment_args_for_update)
    }
    fn group_id() -> Option<clap::Id> {
        T::group_id()
    }
}

impl<T: Subcommand> Subcommand for Lazy<T> {
    fn augment_subcommands(cmd: Command) -> Command {
        cmd.defer(T::augment_subcommands)
    }
    fn augment_subcommands_for_update(cmd: Command) -> Command {
        cmd.defer(T::augment_subcommands_for_update)
    }
    fn has_subcommand(name: &str) -> bool {
        T::has_subcommand(name)
    }
}
