//! The pub/sub registry: who listens to which channel or pattern.
//! Deliveries are `Push` values sent to each subscriber's connection task,
//! which encodes them for its own protocol (RESP2 arrays, RESP3 pushes).

use crate::net::client::Push;
use bytes::Bytes;
use hashbrown::HashMap;
use tokio::sync::mpsc::UnboundedSender;

#[derive(Default)]
pub struct PubSub {
    channels: HashMap<Bytes, HashMap<u64, UnboundedSender<Push>>>,
    patterns: HashMap<Bytes, HashMap<u64, UnboundedSender<Push>>>,
    /// Shard channels (SSUBSCRIBE/SPUBLISH): a separate namespace, no patterns.
    shard: HashMap<Bytes, HashMap<u64, UnboundedSender<Push>>>,
}

impl PubSub {
    pub fn subscribe(&mut self, channel: &Bytes, id: u64, tx: &UnboundedSender<Push>) {
        self.channels
            .entry(channel.clone())
            .or_default()
            .insert(id, tx.clone());
    }

    pub fn unsubscribe(&mut self, channel: &[u8], id: u64) {
        if let Some(m) = self.channels.get_mut(channel) {
            m.remove(&id);
            if m.is_empty() {
                self.channels.remove(channel);
            }
        }
    }

    pub fn psubscribe(&mut self, pattern: &Bytes, id: u64, tx: &UnboundedSender<Push>) {
        self.patterns
            .entry(pattern.clone())
            .or_default()
            .insert(id, tx.clone());
    }

    pub fn punsubscribe(&mut self, pattern: &[u8], id: u64) {
        if let Some(m) = self.patterns.get_mut(pattern) {
            m.remove(&id);
            if m.is_empty() {
                self.patterns.remove(pattern);
            }
        }
    }

    /// Deliver a message; returns the number of receivers (PUBLISH's reply).
    pub fn publish(&self, channel: &Bytes, payload: &Bytes) -> usize {
        let mut n = 0;
        if let Some(subs) = self.channels.get(channel) {
            for tx in subs.values() {
                if tx
                    .send(Push::Message {
                        channel: channel.clone(),
                        payload: payload.clone(),
                    })
                    .is_ok()
                {
                    n += 1;
                }
            }
        }
        for (pat, subs) in &self.patterns {
            if crate::glob::matches(pat, channel, false) {
                for tx in subs.values() {
                    let m = Push::PMessage {
                        pattern: pat.clone(),
                        channel: channel.clone(),
                        payload: payload.clone(),
                    };
                    if tx.send(m).is_ok() {
                        n += 1;
                    }
                }
            }
        }
        n
    }

    /// Active channels (with at least one subscriber) matching an optional pattern.
    pub fn channels(&self, pattern: Option<&[u8]>) -> Vec<Bytes> {
        self.channels
            .keys()
            .filter(|c| pattern.is_none_or(|p| crate::glob::matches(p, c, false)))
            .cloned()
            .collect()
    }

    pub fn numsub(&self, channel: &[u8]) -> usize {
        self.channels.get(channel).map_or(0, |m| m.len())
    }

    pub fn numpat(&self) -> usize {
        self.patterns.len()
    }

    pub fn ssubscribe(&mut self, channel: &Bytes, id: u64, tx: &UnboundedSender<Push>) {
        self.shard
            .entry(channel.clone())
            .or_default()
            .insert(id, tx.clone());
    }

    pub fn sunsubscribe(&mut self, channel: &[u8], id: u64) {
        if let Some(m) = self.shard.get_mut(channel) {
            m.remove(&id);
            if m.is_empty() {
                self.shard.remove(channel);
            }
        }
    }

    /// SPUBLISH: only shard-channel subscribers receive it (no patterns).
    pub fn spublish(&self, channel: &Bytes, payload: &Bytes) -> usize {
        let mut n = 0;
        if let Some(subs) = self.shard.get(channel) {
            for tx in subs.values() {
                let m = Push::SMessage {
                    channel: channel.clone(),
                    payload: payload.clone(),
                };
                if tx.send(m).is_ok() {
                    n += 1;
                }
            }
        }
        n
    }

    pub fn shard_channels(&self, pattern: Option<&[u8]>) -> Vec<Bytes> {
        self.shard
            .keys()
            .filter(|c| pattern.is_none_or(|p| crate::glob::matches(p, c, false)))
            .cloned()
            .collect()
    }

    pub fn shard_numsub(&self, channel: &[u8]) -> usize {
        self.shard.get(channel).map_or(0, |m| m.len())
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
        ps.subscribe(&Bytes::from("news"), 1, &tx1);
        ps.psubscribe(&Bytes::from("n*"), 2, &tx2);
        assert_eq!(ps.publish(&Bytes::from("news"), &Bytes::from("hi")), 2);
        assert!(matches!(rx1.try_recv().unwrap(), Push::Message { .. }));
        assert!(matches!(rx2.try_recv().unwrap(), Push::PMessage { .. }));
        assert_eq!(ps.publish(&Bytes::from("other"), &Bytes::from("x")), 0);
        ps.unsubscribe(b"news", 1);
        assert_eq!(ps.numsub(b"news"), 0);
        assert!(ps.channels(None).is_empty());
        assert_eq!(ps.numpat(), 1);
    }

    #[test]
    fn shard_channels_are_separate() {
        let mut ps = PubSub::default();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        ps.ssubscribe(&Bytes::from("s"), 1, &tx);
        ps.psubscribe(&Bytes::from("*"), 2, &tx);
        assert_eq!(ps.publish(&Bytes::from("s"), &Bytes::from("x")), 1);
        assert!(matches!(rx.try_recv().unwrap(), Push::PMessage { .. }));
        assert_eq!(ps.spublish(&Bytes::from("s"), &Bytes::from("y")), 1);
        assert!(matches!(rx.try_recv().unwrap(), Push::SMessage { .. }));
        assert_eq!(ps.shard_channels(None), vec![Bytes::from("s")]);
        assert!(ps.channels(None).is_empty());
        ps.sunsubscribe(b"s", 1);
        assert_eq!(ps.shard_numsub(b"s"), 0);
    }
}
