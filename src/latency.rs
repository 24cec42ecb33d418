//! The latency monitor (LATENCY LATEST/HISTORY/RESET/DOCTOR/GRAPH): per
//! event class, the last 160 samples at or above `latency-monitor-threshold`
//! (ms), one per second (a second sample in the same second keeps the
//! larger), and the all-time maximum, as Redis's latency.c. Events are
//! recorded where Redis records them: `command` and `fast-command` (the
//! executor), `expire-cycle` (the active expiry loop).

use parking_lot::Mutex;
use std::collections::{BTreeMap, VecDeque};

/// Samples kept per event (Redis's LATENCY_TS_LEN).
pub const HISTORY_LEN: usize = 160;

#[derive(Default)]
struct Series {
    samples: VecDeque<(u64, u64)>,
    max: u64,
}

/// The recorded events. Cheap when nothing crosses the threshold: callers
/// compare first and only then take this lock.
#[derive(Default)]
pub struct Monitor {
    events: Mutex<BTreeMap<String, Series>>,
}

impl Monitor {
    /// Record `ms` for `event` if the threshold (0: disabled) is reached.
    #[inline]
    pub fn add_if_needed(&self, threshold_ms: i64, event: &str, ms: u64) {
        if threshold_ms > 0 && ms >= threshold_ms as u64 {
            self.add(event, ms);
        }
    }

    pub fn add(&self, event: &str, ms: u64) {
        let now = crate::util::now_ms() / 1000;
        let mut ev = self.events.lock();
        let s = ev.entry(event.to_string()).or_default();
        s.max = s.max.max(ms);
        if let Some(last) = s.samples.back_mut() {
            if last.0 == now {
                last.1 = last.1.max(ms);
                return;
            }
        }
        if s.samples.len() == HISTORY_LEN {
            s.samples.pop_front();
        }
        s.samples.push_back((now, ms));
    }

    /// (event, time of the latest sample, latest, all-time max) per event.
    pub fn latest(&self) -> Vec<(String, u64, u64, u64)> {
        self.events
            .lock()
            .iter()
            .filter_map(|(k, s)| {
                let (t, ms) = *s.samples.back()?;
                Some((k.clone(), t, ms, s.max))
            })
            .collect()
    }

    /// The samples of one event, oldest first.
    pub fn history(&self, event: &str) -> Vec<(u64, u64)> {
        self.events
            .lock()
            .get(event)
            .map(|s| s.samples.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Forget the named events (all when none named); how many there were.
    pub fn reset(&self, events: &[String]) -> usize {
        let mut ev = self.events.lock();
        if events.is_empty() {
            let n = ev.len();
            ev.clear();
            return n;
        }
        events.iter().filter(|e| ev.remove(*e).is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_per_second_and_max() {
        let m = Monitor::default();
        m.add_if_needed(0, "command", 500);
        assert!(m.latest().is_empty());
        m.add_if_needed(10, "command", 5);
        assert!(m.latest().is_empty());
        m.add_if_needed(10, "command", 20);
        m.add_if_needed(10, "command", 15);
        let l = m.latest();
        assert_eq!(l.len(), 1);
        assert_eq!((l[0].2, l[0].3), (20, 20));
        assert_eq!(m.history("command").len(), 1);
        assert_eq!(m.reset(&["nope".into()]), 0);
        assert_eq!(m.reset(&[]), 1);
        assert!(m.history("command").is_empty());
    }
}

/// A per-command latency histogram (INFO latencystats), with the layout of
/// the HDR histogram Redis 7.0 keeps (values in ns, 2 significant digits:
/// 256 exact sub-buckets, then 128 per power of two), so percentiles read
/// back as Redis prints them (1 µs reads 1.003).
#[derive(Clone, Default, Debug)]
pub struct Histogram {
    counts: Vec<u32>,
    total: u64,
}

impl Histogram {
    fn index(v: u64) -> usize {
        if v < 256 {
            return v as usize;
        }
        let shift = 63 - v.leading_zeros() as usize - 7;
        let sub = (v >> shift) as usize;
        256 + (shift - 1) * 128 + (sub - 128)
    }

    /// The highest value that falls in bucket `i`.
    fn highest(i: usize) -> u64 {
        if i < 256 {
            return i as u64;
        }
        let shift = (i - 256) / 128 + 1;
        let sub = ((i - 256) % 128 + 128) as u64;
        (sub << shift) + (1u64 << shift) - 1
    }

    /// Record one call taking `ns` nanoseconds (1 ns to 1 s, as Redis clamps).
    pub fn record(&mut self, ns: u64) {
        let i = Self::index(ns.clamp(1, 1_000_000_000));
        if self.counts.len() <= i {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += 1;
        self.total += 1;
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    /// LATENCY HISTOGRAM's cumulative distribution, as Redis walks its HDR
    /// histogram with a logarithmic iterator (first bucket 1024 ns, base 2):
    /// (µs, calls up to it) at each power of two where the count grew.
    pub fn cdf_usec(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let (mut level, mut prev, mut seen, mut next) = (1024u64, 0u64, 0u64, 0usize);
        while prev < self.total {
            let top = Self::index(level);
            while next <= top && next < self.counts.len() {
                seen += self.counts[next] as u64;
                next += 1;
            }
            if seen > prev {
                out.push((Self::highest(top) / 1000, seen));
                prev = seen;
            }
            level *= 2;
        }
        out
    }

    /// The value (ns) at percentile `p` (0..=100).
    pub fn value_at(&self, p: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let want = ((p / 100.0 * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0u64;
        for (i, c) in self.counts.iter().enumerate() {
            seen += *c as u64;
            if seen >= want {
                return Self::highest(i);
            }
        }
        Self::highest(self.counts.len().saturating_sub(1))
    }
}

#[cfg(test)]
mod hist_tests {
    use super::Histogram;

    #[test]
    fn cdf_reports_powers_of_two_where_the_count_grows() {
        let mut h = Histogram::default();
        for ns in [500, 900, 1500, 3000, 3000, 70_000] {
            h.record(ns);
        }
        assert_eq!(h.cdf_usec(), vec![(1, 2), (2, 3), (4, 5), (132, 6)]);
    }

    #[test]
    fn percentiles_read_like_redis() {
        let mut h = Histogram::default();
        for _ in 0..99 {
            h.record(1000);
        }
        h.record(2000);
        assert_eq!(h.value_at(50.0), 1003);
        assert_eq!(h.value_at(99.0), 1003);
        assert_eq!(h.value_at(99.9), 2007);
        assert_eq!(h.value_at(100.0), 2007);
        h.record(100);
        assert_eq!(h.value_at(0.0), 100);
    }
}
