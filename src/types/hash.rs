//! Placeholder: the hash type lands with its commands.

/// A hash value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Hash {}

impl Hash {
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
