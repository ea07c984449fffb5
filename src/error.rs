//! Command errors as a typed enum, turned into Redis's exact error text in one
//! place ([`CmdError::message`]). Handlers return `Err(..)` *before* writing any
//! reply, so an error never follows a half-written reply.

use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdError {
    WrongType,
    NotInteger,
    NotFloat,
    Overflow,
    Syntax,
    NoSuchKey,
    IndexOutOfRange,
    DbIndexOutOfRange,
    /// `invalid expire time in '<cmd>' command`
    InvalidExpire(&'static str),
    /// `wrong number of arguments for '<cmd>' command`
    WrongArity(String),
    /// An `ERR`-coded message: `Err("syntax error")` → `-ERR syntax error`.
    Err(Cow<'static, str>),
    /// A message with its own code: `Coded("NOPROTO sorry, ...")`.
    Coded(Cow<'static, str>),
}

pub type CmdResult = Result<(), CmdError>;

impl CmdError {
    pub fn err(msg: impl Into<Cow<'static, str>>) -> Self {
        CmdError::Err(msg.into())
    }

    pub fn coded(msg: impl Into<Cow<'static, str>>) -> Self {
        CmdError::Coded(msg.into())
    }

    /// The error line without the leading `-`, as Redis words it.
    pub fn message(&self) -> Cow<'static, str> {
        match self {
            CmdError::WrongType => {
                "WRONGTYPE Operation against a key holding the wrong kind of value".into()
            }
            CmdError::NotInteger => "ERR value is not an integer or out of range".into(),
            CmdError::NotFloat => "ERR value is not a valid float".into(),
            CmdError::Overflow => "ERR increment or decrement would overflow".into(),
            CmdError::Syntax => "ERR syntax error".into(),
            CmdError::NoSuchKey => "ERR no such key".into(),
            CmdError::IndexOutOfRange => "ERR index out of range".into(),
            CmdError::DbIndexOutOfRange => "ERR DB index is out of range".into(),
            CmdError::InvalidExpire(cmd) => {
                format!("ERR invalid expire time in '{cmd}' command").into()
            }
            CmdError::WrongArity(cmd) => {
                format!("ERR wrong number of arguments for '{cmd}' command").into()
            }
            CmdError::Err(m) => format!("ERR {m}").into(),
            CmdError::Coded(m) => m.clone(),
        }
    }
}
