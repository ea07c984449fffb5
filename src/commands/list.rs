//! List commands (placeholder: none yet).

use super::Command;

pub const COMMANDS: &[Command] = &[];
