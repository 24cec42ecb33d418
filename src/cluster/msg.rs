//! The cluster bus message, byte for byte Redis 7.0's `clusterMsg`: a
//! 2256-byte header (`RCmb`, lengths and epochs in network byte order, the
//! sender's 2048-byte slot bitmap, its master, announced IP, ports, flags,
//! cluster state, message flags), then a type-dependent body: gossip
//! entries of 104 bytes plus 8-byte-aligned ping extensions (PING, PONG,
//! MEET), a node name (FAIL), channel and message (PUBLISH, PUBLISHSHARD),
//! an epoch, a name and a slot bitmap (UPDATE), nothing (FAILOVER_AUTH_*,
//! MFSTART). Pure: bytes in, bytes out.

use super::slot::{SlotBits, SLOTS};

pub const NAMELEN: usize = 40;
pub type Name = [u8; NAMELEN];
pub const NULL_NAME: Name = [0; NAMELEN];
/// NET_IP_STR_LEN: the size of the IP fields.
pub const IPLEN: usize = 46;
pub const HEADER_LEN: usize = 2256;
pub const GOSSIP_LEN: usize = 104;
/// The smallest buffer that can tell a message's type and length.
pub const MIN_LEN: usize = 8;

pub mod typ {
    pub const PING: u16 = 0;
    pub const PONG: u16 = 1;
    pub const MEET: u16 = 2;
    pub const FAIL: u16 = 3;
    pub const PUBLISH: u16 = 4;
    pub const AUTH_REQUEST: u16 = 5;
    pub const AUTH_ACK: u16 = 6;
    pub const UPDATE: u16 = 7;
    pub const MFSTART: u16 = 8;
    pub const MODULE: u16 = 9;
    pub const PUBLISHSHARD: u16 = 10;
    pub const COUNT: usize = 11;
    pub const NAMES: [&str; COUNT] = [
        "ping",
        "pong",
        "meet",
        "fail",
        "publish",
        "auth-req",
        "auth-ack",
        "update",
        "mfstart",
        "module",
        "publishshard",
    ];
}

/// Node flags as carried in headers and gossip (CLUSTER_NODE_*).
pub mod nflag {
    pub const MASTER: u16 = 1;
    pub const SLAVE: u16 = 2;
    pub const PFAIL: u16 = 4;
    pub const FAIL: u16 = 8;
    pub const MYSELF: u16 = 16;
    pub const HANDSHAKE: u16 = 32;
    pub const NOADDR: u16 = 64;
    pub const MEET: u16 = 128;
    pub const MIGRATE_TO: u16 = 256;
    pub const NOFAILOVER: u16 = 512;
}

/// mflags[0] bits.
pub const MF_PAUSED: u8 = 1;
pub const MF_FORCEACK: u8 = 2;
pub const MF_EXT_DATA: u8 = 4;

pub const EXT_HOSTNAME: u16 = 0;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub typ: u16,
    pub port: u16,
    pub current_epoch: u64,
    pub config_epoch: u64,
    pub offset: u64,
    pub sender: Name,
    pub myslots: SlotBits,
    /// The sender's master, NULL_NAME for a master.
    pub slaveof: Name,
    /// The announced IP, empty: the receiver uses the socket's peer address.
    pub myip: String,
    pub pport: u16,
    pub cport: u16,
    pub flags: u16,
    /// 0 ok, 1 fail (the sender's view).
    pub state: u8,
    pub mflags: [u8; 3],
}

impl Default for Header {
    fn default() -> Self {
        Header {
            typ: 0,
            port: 0,
            current_epoch: 0,
            config_epoch: 0,
            offset: 0,
            sender: NULL_NAME,
            myslots: SlotBits::default(),
            slaveof: NULL_NAME,
            myip: String::new(),
            pport: 0,
            cport: 0,
            flags: 0,
            state: 0,
            mflags: [0; 3],
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gossip {
    pub name: Name,
    /// Seconds (Unix), as Redis sends them.
    pub ping_sent: u32,
    pub pong_received: u32,
    pub ip: String,
    pub port: u16,
    pub cport: u16,
    pub flags: u16,
    pub pport: u16,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ext {
    Hostname(String),
    /// An extension type we do not interpret (later Redis versions): kept
    /// so a round trip is exact, otherwise ignored.
    Other(u16, Vec<u8>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    Ping {
        gossip: Vec<Gossip>,
        exts: Vec<Ext>,
    },
    Fail {
        about: Name,
    },
    Publish {
        channel: Vec<u8>,
        message: Vec<u8>,
    },
    Update {
        config_epoch: u64,
        node: Name,
        slots: SlotBits,
    },
    Empty,
    Module(Vec<u8>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Msg {
    pub hdr: Header,
    pub body: Body,
}

fn put_str(buf: &mut Vec<u8>, s: &str, len: usize) {
    let b = s.as_bytes();
    let n = b.len().min(len - 1);
    buf.extend_from_slice(&b[..n]);
    buf.resize(buf.len() + len - n, 0);
}

fn get_str(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().unwrap())
}

fn name_at(b: &[u8], at: usize) -> Name {
    b[at..at + NAMELEN].try_into().unwrap()
}

fn slots_at(b: &[u8], at: usize) -> SlotBits {
    let mut s = SlotBits::default();
    s.0.copy_from_slice(&b[at..at + SLOTS / 8]);
    s
}

impl Msg {
    pub fn encode(&self) -> Vec<u8> {
        let h = &self.hdr;
        let mut b = Vec::with_capacity(HEADER_LEN + 256);
        b.extend_from_slice(b"RCmb");
        b.extend_from_slice(&[0; 4]); // totlen, patched below
        b.extend_from_slice(&1u16.to_be_bytes());
        b.extend_from_slice(&h.port.to_be_bytes());
        b.extend_from_slice(&h.typ.to_be_bytes());
        let count = match &self.body {
            Body::Ping { gossip, .. } => gossip.len() as u16,
            _ => 0,
        };
        b.extend_from_slice(&count.to_be_bytes());
        b.extend_from_slice(&h.current_epoch.to_be_bytes());
        b.extend_from_slice(&h.config_epoch.to_be_bytes());
        b.extend_from_slice(&h.offset.to_be_bytes());
        b.extend_from_slice(&h.sender);
        b.extend_from_slice(&h.myslots.0[..]);
        b.extend_from_slice(&h.slaveof);
        put_str(&mut b, &h.myip, IPLEN);
        let nexts = match &self.body {
            Body::Ping { exts, .. } => exts.len() as u16,
            _ => 0,
        };
        b.extend_from_slice(&nexts.to_be_bytes());
        b.extend_from_slice(&[0; 30]);
        b.extend_from_slice(&h.pport.to_be_bytes());
        b.extend_from_slice(&h.cport.to_be_bytes());
        b.extend_from_slice(&h.flags.to_be_bytes());
        b.push(h.state);
        b.extend_from_slice(&h.mflags);
        debug_assert_eq!(b.len(), HEADER_LEN);
        match &self.body {
            Body::Ping { gossip, exts } => {
                for g in gossip {
                    b.extend_from_slice(&g.name);
                    b.extend_from_slice(&g.ping_sent.to_be_bytes());
                    b.extend_from_slice(&g.pong_received.to_be_bytes());
                    put_str(&mut b, &g.ip, IPLEN);
                    b.extend_from_slice(&g.port.to_be_bytes());
                    b.extend_from_slice(&g.cport.to_be_bytes());
                    b.extend_from_slice(&g.flags.to_be_bytes());
                    b.extend_from_slice(&g.pport.to_be_bytes());
                    b.extend_from_slice(&[0, 0]);
                }
                for e in exts {
                    let (t, payload): (u16, Vec<u8>) = match e {
                        Ext::Hostname(h) => {
                            let mut p = h.as_bytes().to_vec();
                            p.push(0);
                            (EXT_HOSTNAME, p)
                        }
                        Ext::Other(t, p) => (*t, p.clone()),
                    };
                    let padded = payload.len().div_ceil(8) * 8;
                    b.extend_from_slice(&((8 + padded) as u32).to_be_bytes());
                    b.extend_from_slice(&t.to_be_bytes());
                    b.extend_from_slice(&[0, 0]);
                    b.extend_from_slice(&payload);
                    b.resize(b.len() + padded - payload.len(), 0);
                }
            }
            Body::Fail { about } => b.extend_from_slice(about),
            Body::Publish { channel, message } => {
                b.extend_from_slice(&(channel.len() as u32).to_be_bytes());
                b.extend_from_slice(&(message.len() as u32).to_be_bytes());
                b.extend_from_slice(channel);
                b.extend_from_slice(message);
            }
            Body::Update {
                config_epoch,
                node,
                slots,
            } => {
                b.extend_from_slice(&config_epoch.to_be_bytes());
                b.extend_from_slice(node);
                b.extend_from_slice(&slots.0[..]);
            }
            Body::Empty => {}
            Body::Module(raw) => b.extend_from_slice(raw),
        }
        let len = b.len() as u32;
        b[4..8].copy_from_slice(&len.to_be_bytes());
        b
    }

    /// The total length a buffer announces, once 8 bytes are in; an error
    /// for a buffer that is not a cluster bus message (Redis frees the link).
    pub fn frame_len(b: &[u8]) -> Result<Option<usize>, String> {
        if b.len() < MIN_LEN {
            return Ok(None);
        }
        if &b[0..4] != b"RCmb" {
            return Err("bad signature".into());
        }
        let len = u32_at(b, 4) as usize;
        if len < MIN_LEN {
            return Err(format!("bad length {len}"));
        }
        Ok(Some(len))
    }

    /// Decode one complete message (`b.len()` is its total length). Like
    /// Redis's clusterIsValidPacket: the length must match the type.
    pub fn decode(b: &[u8]) -> Result<Msg, String> {
        if b.len() < 16 || &b[0..4] != b"RCmb" || u32_at(b, 4) as usize != b.len() {
            return Err("malformed frame".into());
        }
        if u16_at(b, 8) != 1 {
            return Err("unknown protocol version".into());
        }
        let typ = u16_at(b, 12);
        if b.len() < HEADER_LEN {
            return Err(format!("message of type {typ} too short"));
        }
        let count = u16_at(b, 14) as usize;
        let hdr = Header {
            typ,
            port: u16_at(b, 10),
            current_epoch: u64_at(b, 16),
            config_epoch: u64_at(b, 24),
            offset: u64_at(b, 32),
            sender: name_at(b, 40),
            myslots: slots_at(b, 80),
            slaveof: name_at(b, 2128),
            myip: get_str(&b[2168..2168 + IPLEN]),
            pport: u16_at(b, 2246),
            cport: u16_at(b, 2248),
            flags: u16_at(b, 2250),
            state: b[2252],
            mflags: [b[2253], b[2254], b[2255]],
        };
        let nexts = u16_at(b, 2214) as usize;
        let data = &b[HEADER_LEN..];
        let bad = || Err(format!("bad length {} for message of type {typ}", b.len()));
        let body = match typ {
            typ::PING | typ::PONG | typ::MEET => {
                let glen = count * GOSSIP_LEN;
                if data.len() < glen {
                    return bad();
                }
                let gossip = data[..glen]
                    .chunks(GOSSIP_LEN)
                    .map(|g| Gossip {
                        name: name_at(g, 0),
                        ping_sent: u32_at(g, 40),
                        pong_received: u32_at(g, 44),
                        ip: get_str(&g[48..48 + IPLEN]),
                        port: u16_at(g, 94),
                        cport: u16_at(g, 96),
                        flags: u16_at(g, 98),
                        pport: u16_at(g, 100),
                    })
                    .collect();
                let mut rest = &data[glen..];
                let mut exts = Vec::new();
                for _ in 0..nexts {
                    if rest.len() < 8 {
                        return bad();
                    }
                    let len = u32_at(rest, 0) as usize;
                    if len < 8 || len % 8 != 0 || len > rest.len() {
                        return bad();
                    }
                    let t = u16_at(rest, 4);
                    let payload = &rest[8..len];
                    exts.push(match t {
                        EXT_HOSTNAME => Ext::Hostname(get_str(payload)),
                        _ => Ext::Other(t, payload.to_vec()),
                    });
                    rest = &rest[len..];
                }
                if !rest.is_empty() {
                    return bad();
                }
                Body::Ping { gossip, exts }
            }
            typ::FAIL => {
                if data.len() != NAMELEN {
                    return bad();
                }
                Body::Fail {
                    about: name_at(data, 0),
                }
            }
            typ::PUBLISH | typ::PUBLISHSHARD => {
                if data.len() < 8 {
                    return bad();
                }
                let cl = u32_at(data, 0) as usize;
                let ml = u32_at(data, 4) as usize;
                // Redis counts the 8-byte placeholder of bulk_data:
                // totlen = header + 8 + channel + message.
                if data.len() != 8 + cl + ml {
                    return bad();
                }
                Body::Publish {
                    channel: data[8..8 + cl].to_vec(),
                    message: data[8 + cl..].to_vec(),
                }
            }
            typ::UPDATE => {
                if data.len() != 8 + NAMELEN + SLOTS / 8 {
                    return bad();
                }
                Body::Update {
                    config_epoch: u64_at(data, 0),
                    node: name_at(data, 8),
                    slots: slots_at(data, 48),
                }
            }
            typ::AUTH_REQUEST | typ::AUTH_ACK | typ::MFSTART => {
                if !data.is_empty() {
                    return bad();
                }
                Body::Empty
            }
            typ::MODULE => Body::Module(data.to_vec()),
            _ => return Err(format!("unknown message type {typ}")),
        };
        Ok(Msg { hdr, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(c: u8) -> Name {
        [c; NAMELEN]
    }

    fn header(typ: u16) -> Header {
        let mut h = Header {
            typ,
            port: 7000,
            current_epoch: 5,
            config_epoch: 3,
            offset: 123456789,
            sender: name(b'a'),
            slaveof: name(b'b'),
            myip: "10.0.0.1".into(),
            pport: 0,
            cport: 17000,
            flags: nflag::SLAVE,
            state: 1,
            mflags: [MF_EXT_DATA, 0, 0],
            ..Header::default()
        };
        h.myslots.set(0, true);
        h.myslots.set(16383, true);
        h
    }

    #[test]
    fn header_layout_is_redis_7_0() {
        let m = Msg {
            hdr: header(typ::AUTH_REQUEST),
            body: Body::Empty,
        };
        let b = m.encode();
        assert_eq!(b.len(), HEADER_LEN);
        assert_eq!(&b[0..4], b"RCmb");
        assert_eq!(&b[4..8], &(HEADER_LEN as u32).to_be_bytes());
        assert_eq!(&b[8..10], &[0, 1], "version 1");
        assert_eq!(&b[10..12], &7000u16.to_be_bytes());
        assert_eq!(&b[12..14], &[0, 5], "type");
        assert_eq!(&b[16..24], &5u64.to_be_bytes());
        assert_eq!(&b[32..40], &123456789u64.to_be_bytes());
        assert_eq!(b[40], b'a');
        assert_eq!(b[80], 1, "slot 0 is bit 0 of the first bitmap byte");
        assert_eq!(b[80 + 2047], 0x80, "slot 16383 is the top bit of the last");
        assert_eq!(b[2128], b'b');
        assert_eq!(&b[2168..2176], b"10.0.0.1");
        assert_eq!(&b[2248..2250], &17000u16.to_be_bytes());
        assert_eq!(&b[2250..2252], &[0, 2]);
        assert_eq!(b[2252], 1);
        assert_eq!(b[2253], MF_EXT_DATA);
        assert_eq!(Msg::decode(&b).unwrap(), m);
    }

    #[test]
    fn round_trips_of_every_body() {
        let g = Gossip {
            name: name(b'c'),
            ping_sent: 1,
            pong_received: 1700000000,
            ip: "127.0.0.1".into(),
            port: 7001,
            cport: 17001,
            flags: nflag::MASTER | nflag::PFAIL,
            pport: 0,
        };
        let mut slots = SlotBits::default();
        slots.set(42, true);
        let bodies = [
            (
                typ::PING,
                Body::Ping {
                    gossip: vec![g.clone(), g.clone()],
                    exts: vec![Ext::Hostname("node-1.example".into())],
                },
            ),
            (
                typ::MEET,
                Body::Ping {
                    gossip: vec![],
                    exts: vec![],
                },
            ),
            (
                typ::PONG,
                Body::Ping {
                    gossip: vec![g],
                    exts: vec![Ext::Other(3, vec![b'x'; 40]), Ext::Hostname("h".into())],
                },
            ),
            (typ::FAIL, Body::Fail { about: name(b'd') }),
            (
                typ::PUBLISH,
                Body::Publish {
                    channel: b"chan".to_vec(),
                    message: b"hello".to_vec(),
                },
            ),
            (
                typ::PUBLISHSHARD,
                Body::Publish {
                    channel: vec![],
                    message: vec![0, 1, 2],
                },
            ),
            (
                typ::UPDATE,
                Body::Update {
                    config_epoch: 9,
                    node: name(b'e'),
                    slots,
                },
            ),
            (typ::AUTH_ACK, Body::Empty),
            (typ::MFSTART, Body::Empty),
        ];
        for (t, body) in bodies {
            let m = Msg {
                hdr: header(t),
                body,
            };
            let b = m.encode();
            assert_eq!(Msg::frame_len(&b).unwrap(), Some(b.len()));
            assert_eq!(Msg::decode(&b).unwrap(), m, "type {t}");
        }
    }

    #[test]
    fn sizes_follow_redis() {
        // PING with 2 gossip entries and a 14-byte hostname: 15 bytes with
        // its NUL, padded to 16, plus the 8-byte extension header.
        let m = Msg {
            hdr: header(typ::PING),
            body: Body::Ping {
                gossip: vec![
                    Gossip {
                        name: name(b'z'),
                        ping_sent: 0,
                        pong_received: 0,
                        ip: String::new(),
                        port: 0,
                        cport: 0,
                        flags: 0,
                        pport: 0,
                    };
                    2
                ],
                exts: vec![Ext::Hostname("node-1.example".into())],
            },
        };
        let b = m.encode();
        assert_eq!(b.len(), HEADER_LEN + 2 * GOSSIP_LEN + 8 + 16);
        assert_eq!(&b[14..16], &[0, 2], "count");
        assert_eq!(&b[2214..2216], &[0, 1], "extensions");
        let ext = &b[HEADER_LEN + 2 * GOSSIP_LEN..];
        assert_eq!(&ext[0..4], &24u32.to_be_bytes());
        assert_eq!(&ext[4..6], &[0, 0], "hostname type");
        assert_eq!(&ext[8..22], b"node-1.example");
        // FAIL: header + 40; PUBLISH: header + 8 + lengths; UPDATE: + 2096.
        let fail = Msg {
            hdr: header(typ::FAIL),
            body: Body::Fail { about: name(b'q') },
        };
        assert_eq!(fail.encode().len(), HEADER_LEN + 40);
        let upd = Msg {
            hdr: header(typ::UPDATE),
            body: Body::Update {
                config_epoch: 1,
                node: name(b'q'),
                slots: SlotBits::default(),
            },
        };
        assert_eq!(upd.encode().len(), HEADER_LEN + 2096);
        // Lengths that do not fit the type are refused.
        let mut bad = fail.encode();
        bad.push(0);
        let l = bad.len() as u32;
        bad[4..8].copy_from_slice(&l.to_be_bytes());
        assert!(Msg::decode(&bad).is_err());
        assert!(Msg::frame_len(b"XXXXxxxx").is_err());
        assert_eq!(Msg::frame_len(b"RCmb").unwrap(), None);
    }
}
