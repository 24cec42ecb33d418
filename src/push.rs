//! Out-of-band output for a client: pub/sub messages, MONITOR lines and
//! client-side caching invalidations. Producers (pub/sub, tracking, the
//! monitor feed) send them on the client's channel; its connection task
//! encodes them for the client's protocol.

use bytes::Bytes;

/// One delivery to a connection.
#[derive(Debug, Clone)]
pub enum Push {
    Message {
        channel: Bytes,
        payload: Bytes,
    },
    PMessage {
        pattern: Bytes,
        channel: Bytes,
        payload: Bytes,
    },
    /// A shard-channel message (SPUBLISH).
    SMessage {
        channel: Bytes,
        payload: Bytes,
    },
    /// A ready MONITOR line (without the leading '+' and CRLF).
    Monitor(Bytes),
    /// Client-side caching: these keys (None: every key, after a flush) may
    /// have changed. `redirected`: delivered for another client's tracking,
    /// so a RESP2 receiver gets it as a `__redis__:invalidate` message.
    /// `null_resp3`: the "every key" null is encoded in the tracking
    /// client's protocol, not the receiver's (as Redis does).
    Invalidate {
        keys: Option<Vec<Bytes>>,
        redirected: bool,
        null_resp3: bool,
    },
    /// The client this one redirects its invalidations to is gone.
    RedirBroken(u64),
}
