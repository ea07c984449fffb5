//! (family not implemented yet)

use super::Command;

pub const COMMANDS: &[Command] = &[];
