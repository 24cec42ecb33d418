//! The arguments of `HELLO [protover [AUTH user pass] [SETNAME name]]` and
//! `AUTH [user] pass`, parsed the same way by the data node and the sentinel
//! (their replies differ).

use super::Proto;
use crate::error::Error;
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;

#[derive(Debug, Default)]
pub struct HelloArgs {
    /// None: keep the connection's protocol.
    pub proto: Option<Proto>,
    /// `AUTH user pass`, already checked by the caller's `check_auth`.
    pub authed: bool,
    pub setname: Option<Bytes>,
}

/// Parse HELLO's arguments (`args[0]` is the command name). As in Redis, a
/// syntax error wins over a bad password: `check_auth` is called for `AUTH
/// user pass` once every option has been read, and its error is returned as is.
pub fn parse(
    args: &[Bytes],
    mut check_auth: impl FnMut(&[u8], &[u8]) -> Result<(), Error>,
) -> Result<HelloArgs, Error> {
    let mut h = HelloArgs::default();
    let mut i = 1;
    if args.len() >= 2 {
        let v = parse_i64(&args[1])
            .ok_or_else(|| Error::err("Protocol version is not an integer or out of range"))?;
        if !(2..=3).contains(&v) {
            return Err(Error::msg("NOPROTO unsupported protocol version"));
        }
        h.proto = Some(if v == 3 { Proto::Resp3 } else { Proto::Resp2 });
        i = 2;
    }
    let mut auth = None;
    while i < args.len() {
        let more = args.len() - i - 1;
        if eq_ic(&args[i], "auth") && more >= 2 {
            auth = Some((&args[i + 1], &args[i + 2]));
            i += 3;
        } else if eq_ic(&args[i], "setname") && more >= 1 {
            h.setname = Some(args[i + 1].clone());
            i += 2;
        } else {
            return Err(Error::err(format!(
                "Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&args[i])
            )));
        }
    }
    if let Some((user, pass)) = auth {
        check_auth(user, pass)?;
        h.authed = true;
    }
    Ok(h)
}

/// `AUTH [user] password`: the user (`default` when omitted) and password,
/// or Redis's error when the form is invalid. `password_set`: whether the
/// default user has a password (a one-argument AUTH needs one).
pub fn auth_args(args: &[Bytes], password_set: bool) -> Result<(&[u8], &[u8]), Error> {
    if args.len() > 3 {
        return Err(Error::Syntax);
    }
    if args.len() == 2 && !password_set {
        return Err(Error::err(
            "AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        ));
    }
    Ok(if args.len() == 3 {
        (&args[1][..], &args[2][..])
    } else {
        (&b"default"[..], &args[1][..])
    })
}

/// The NOAUTH reply HELLO gives a client that is not authenticated.
pub const NOAUTH: &str = "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time";
