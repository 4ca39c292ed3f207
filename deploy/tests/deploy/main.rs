//! The deploy crate's integration tests (one binary): the command as users run it, the
//! template and docs against the permission list, and what moto can check of AWS.

mod alarms;
mod checks;
mod docs;
mod dry_run;
mod helpers;
mod iam;
mod permissions;
mod routing;
