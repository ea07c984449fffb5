//! Placeholder: the set type lands with its commands.

/// A set value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Set {}

impl Set {
    /// The name `OBJECT ENCODING` answers.
    pub fn encoding(&self) -> &'static str {
        "listpack"
    }

    pub fn len(&self) -> usize {
        0
    }

    pub fn is_empty(&self) -> bool {
        true
    }
}
