//! The pub/sub registry: who listens to which channel or pattern.
//! Deliveries are `Push` values sent to each subscriber's connection task,
//! which encodes them for its own protocol (RESP2 arrays, RESP3 pushes).

use crate::push::Push;
use bytes::Bytes;
use hashbrown::HashMap;
use tokio::sync::mpsc::UnboundedSender;

/// Subscribers by name (a channel, a pattern or a shard channel).
#[derive(Default)]
pub struct Registry(HashMap<Bytes, HashMap<u64, UnboundedSender<Push>>>);

impl Registry {
    pub fn add(&mut self, name: &Bytes, id: u64, tx: &UnboundedSender<Push>) {
        if let Some(m) = self.0.get_mut(&name[..]) {
            m.insert(id, tx.clone());
            return;
        }
        // A copy, not a clone: a clone of request bytes would pin the read buffer.
        self.0.insert(
            Bytes::copy_from_slice(name),
            HashMap::from([(id, tx.clone())]),
        );
    }

    pub fn remove(&mut self, name: &[u8], id: u64) {
        if let Some(m) = self.0.get_mut(name) {
            m.remove(&id);
            if m.is_empty() {
                self.0.remove(name);
            }
        }
    }

    /// Names with at least one subscriber, optionally filtered by a glob pattern.
    pub fn names(&self, pattern: Option<&[u8]>) -> Vec<Bytes> {
        self.0
            .keys()
            .filter(|c| pattern.is_none_or(|p| crate::glob::matches(p, c, false)))
            .cloned()
            .collect()
    }

    /// Subscribers of one name (PUBSUB NUMSUB).
    pub fn count(&self, name: &[u8]) -> usize {
        self.0.get(name).map_or(0, |m| m.len())
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Send one push per subscriber of `name`; returns how many were reached.
    fn deliver(&self, name: &[u8], make: impl Fn() -> Push) -> usize {
        self.0.get(name).map_or(0, |subs| {
            subs.values().filter(|tx| tx.send(make()).is_ok()).count()
        })
    }
}

#[derive(Default)]
pub struct PubSub {
    pub channels: Registry,
    pub patterns: Registry,
    /// Shard channels (SSUBSCRIBE/SPUBLISH): a separate namespace, no patterns.
    pub shard: Registry,
}

impl PubSub {
    /// Deliver a message; returns the number of receivers (PUBLISH's reply).
    pub fn publish(&self, channel: &Bytes, payload: &Bytes) -> usize {
        let mut n = self.channels.deliver(channel, || Push::Message {
            channel: channel.clone(),
            payload: payload.clone(),
        });
        for pat in self.patterns.0.keys() {
            if crate::glob::matches(pat, channel, false) {
                n += self.patterns.deliver(pat, || Push::PMessage {
                    pattern: pat.clone(),
                    channel: channel.clone(),
                    payload: payload.clone(),
                });
            }
        }
        n
    }

    /// SPUBLISH: only shard-channel subscribers receive it (no patterns).
    pub fn spublish(&self, channel: &Bytes, payload: &Bytes) -> usize {
        self.shard.deliver(channel, || Push::SMessage {
            channel: channel.clone(),
            payload: payload.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_reaches_channels_and_patterns() {
        let mut ps = PubSub::default();
        let (tx1, mut rx1) = tokio::sync::mpsc::unbounded_channel();
        let (tx2, mut rx2) = tokio::sync::mpsc::unbounded_channel();
        ps.channels.add(&Bytes::from("news"), 1, &tx1);
        ps.patterns.add(&Bytes::from("n*"), 2, &tx2);
        assert_eq!(ps.publish(&Bytes::from("news"), &Bytes::from("hi")), 2);
        assert!(matches!(rx1.try_recv().unwrap(), Push::Message { .. }));
        assert!(matches!(rx2.try_recv().unwrap(), Push::PMessage { .. }));
        assert_eq!(ps.publish(&Bytes::from("other"), &Bytes::from("x")), 0);
        ps.channels.remove(b"news", 1);
        assert_eq!(ps.channels.count(b"news"), 0);
        assert!(ps.channels.names(None).is_empty());
        assert_eq!(ps.patterns.len(), 1);
    }

    #[test]
    fn shard_channels_are_separate() {
        let mut ps = PubSub::default();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        ps.shard.add(&Bytes::from("s"), 1, &tx);
        ps.patterns.add(&Bytes::from("*"), 2, &tx);
        assert_eq!(ps.publish(&Bytes::from("s"), &Bytes::from("x")), 1);
        assert!(matches!(rx.try_recv().unwrap(), Push::PMessage { .. }));
        assert_eq!(ps.spublish(&Bytes::from("s"), &Bytes::from("y")), 1);
        assert!(matches!(rx.try_recv().unwrap(), Push::SMessage { .. }));
        assert_eq!(ps.shard.names(None), vec![Bytes::from("s")]);
        assert!(ps.channels.names(None).is_empty());
        ps.shard.remove(b"s", 1);
        assert_eq!(ps.shard.count(b"s"), 0);
    }
}
