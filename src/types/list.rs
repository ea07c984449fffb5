//! Placeholder: the list type lands with its commands.

/// A list value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct List {}

impl List {
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
