//! The one error type of the command layer. Its Display is the exact Redis
//! reply text (without the leading '-'), because clients and test suites
//! match on these strings.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    WrongType,
    NotInteger,
    NotFloat,
    Overflow,
    Syntax,
    NoSuchKey,
    OutOfRange,
    InvalidDbIndex,
    DbIndexOutOfRange,
    InvalidExpire(String),
    NoAuth,
    WrongPass,
    NoReplicas,
    ReadOnly,
    BusyKey,
    /// `ERR wrong number of arguments for '<name>' command`
    Arity(String),
    /// `ERR unknown command '<name>', with args beginning with: ...`
    UnknownCommand(String),
    /// `ERR unknown subcommand '<sub>'. Try <CMD> HELP.`
    UnknownSubcommand(String, String),
    /// Any other text, already prefixed with its code (`ERR ...`, `NOPROTO ...`).
    Msg(String),
}

impl Error {
    pub fn msg(s: impl Into<String>) -> Self {
        Error::Msg(s.into())
    }

    /// `ERR <text>`
    pub fn err(s: impl AsRef<str>) -> Self {
        Error::Msg(format!("ERR {}", s.as_ref()))
    }

    pub fn arity(cmd: &str) -> Self {
        Error::Arity(cmd.to_ascii_lowercase())
    }

    /// Redis 7.0's unknown-command text: quoted name, then up to the first
    /// arguments each quoted and followed by a space (so the text ends in a space).
    pub fn unknown_command(args: &[bytes::Bytes]) -> Self {
        let name = String::from_utf8_lossy(args.first().map(|b| &b[..]).unwrap_or(b""));
        let mut s = format!("'{}', with args beginning with: ", truncate(&name, 128));
        let mut total = 0;
        for a in args.iter().skip(1) {
            let a = String::from_utf8_lossy(a);
            if total + a.len() > 128 {
                break;
            }
            total += a.len();
            s.push_str(&format!("'{}' ", truncate(&a, 128)));
        }
        Error::UnknownCommand(s)
    }

    pub fn unknown_subcommand(sub: &[u8], cmd: &str) -> Self {
        Error::UnknownSubcommand(
            truncate(&String::from_utf8_lossy(sub), 128).to_string(),
            cmd.to_ascii_uppercase(),
        )
    }

    /// The error code (first word), used for INFO errorstats.
    pub fn code(&self) -> String {
        let s = self.to_string();
        s.split(' ').next().unwrap_or("ERR").to_string()
    }
}

fn truncate(s: &str, n: usize) -> &str {
    if s.len() <= n {
        return s;
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::WrongType => {
                f.write_str("WRONGTYPE Operation against a key holding the wrong kind of value")
            }
            Error::NotInteger => f.write_str("ERR value is not an integer or out of range"),
            Error::NotFloat => f.write_str("ERR value is not a valid float"),
            Error::Overflow => f.write_str("ERR increment or decrement would overflow"),
            Error::Syntax => f.write_str("ERR syntax error"),
            Error::NoSuchKey => f.write_str("ERR no such key"),
            Error::OutOfRange => f.write_str("ERR index out of range"),
            Error::InvalidDbIndex => f.write_str("ERR invalid DB index"),
            Error::DbIndexOutOfRange => f.write_str("ERR DB index is out of range"),
            Error::InvalidExpire(cmd) => write!(f, "ERR invalid expire time in '{}' command", cmd),
            Error::NoAuth => f.write_str("NOAUTH Authentication required."),
            Error::WrongPass => {
                f.write_str("WRONGPASS invalid username-password pair or user is disabled.")
            }
            Error::NoReplicas => f.write_str("NOREPLICAS Not enough good replicas to write."),
            Error::ReadOnly => f.write_str("READONLY You can't write against a read only replica."),
            Error::BusyKey => f.write_str("BUSYKEY Target key name already exists."),
            Error::Arity(cmd) => write!(f, "ERR wrong number of arguments for '{}' command", cmd),
            Error::UnknownCommand(s) => write!(f, "ERR unknown command {}", s),
            Error::UnknownSubcommand(sub, cmd) => {
                write!(f, "ERR unknown subcommand '{}'. Try {} HELP.", sub, cmd)
            }
            Error::Msg(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for Error {}

pub type CmdResult = Result<(), Error>;

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn unknown_command_text_matches_redis_7() {
        let e = Error::unknown_command(&[Bytes::from("GET2"), Bytes::from("x")]);
        assert_eq!(
            e.to_string(),
            "ERR unknown command 'GET2', with args beginning with: 'x' "
        );
        let e = Error::unknown_command(&[Bytes::from("foo")]);
        assert_eq!(
            e.to_string(),
            "ERR unknown command 'foo', with args beginning with: "
        );
    }

    #[test]
    fn fixed_texts() {
        assert_eq!(
            Error::arity("GET").to_string(),
            "ERR wrong number of arguments for 'get' command"
        );
        assert_eq!(
            Error::unknown_subcommand(b"foo", "client").to_string(),
            "ERR unknown subcommand 'foo'. Try CLIENT HELP."
        );
        assert_eq!(Error::WrongType.code(), "WRONGTYPE");
    }
}
