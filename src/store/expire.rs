//! The active expire cycle, shaped like Redis's activeExpireCycle: sample up
//! to 20 keys with a TTL per database, delete the expired ones, and repeat
//! while more than a quarter of a sample was expired, within a time budget.
//! The caller releases the keyspace lock between steps so clients never
//! wait for a whole cycle.

use super::{Effect, Store};
use bytes::Bytes;
use rand::Rng;

pub const SAMPLE: usize = 20;

/// One sampling step on database `db`. Returns how many of the sampled keys
/// had expired (the caller repeats while that is > SAMPLE/4).
pub fn expire_step(store: &mut Store, db: usize, rng: &mut impl Rng) -> usize {
    let mut expired = 0;
    let d = &mut store.dbs[db];
    if d.expires_len() == 0 {
        return 0;
    }
    let n = SAMPLE.min(d.expires_len());
    for _ in 0..n {
        let Some(idx) = d.random_volatile(rng) else {
            break;
        };
        if let Some(key) = d.expire_idx_if_due(idx) {
            expired += 1;
            store.effects.push(Effect {
                db,
                args: vec![
                    Bytes::from_static(b"DEL"),
                    Bytes::copy_from_slice(key.as_bytes()),
                ],
            });
        }
    }
    // Redis's expired_stale_perc: a moving average of the expired share of samples.
    let st = &mut store.stats;
    st.expired_stale = (expired as f64 / n as f64) * 0.05 + st.expired_stale * 0.95;
    store.stats.expired_keys += expired as u64;
    store.dirty += expired as u64;
    if expired > 0 {
        store.flush_effects();
    }
    expired
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Value;
    use rand::SeedableRng;

    #[test]
    fn steps_reclaim_all_expired_keys() {
        let mut st = Store::new(1);
        st.set_now(1_000);
        for i in 0..10_000 {
            let idx = st.dbs[0].set(format!("k{i}").as_bytes(), Value::str(b"v"), false);
            st.dbs[0].set_expire_idx(idx, 1_500);
        }
        st.dbs[0].set(b"keep", Value::str(b"v"), false);
        st.set_now(2_000);
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut steps = 0;
        while expire_step(&mut st, 0, &mut rng) > SAMPLE / 4 {
            steps += 1;
            assert!(steps < 100_000);
        }
        assert_eq!(st.dbs[0].len(), 1);
        assert_eq!(st.stats.expired_keys, 10_000);
    }
}
