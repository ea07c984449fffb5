//! Value types stored in the keyspace. Each data type has its own module; the
//! [`Value`] enum is what an entry holds.

pub mod string;
pub mod zset;

pub use string::Str;
pub use zset::ZSet;

/// The value of a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(Str),
    ZSet(Box<ZSet>),
}

impl Value {
    /// The name `TYPE` answers.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::ZSet(_) => "zset",
        }
    }

    /// The name `OBJECT ENCODING` answers.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
        }
    }
}
