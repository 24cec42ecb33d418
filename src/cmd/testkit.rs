//! Unit-test harness for command handlers: a real `Shared`, one client, the
//! real executor, and a capture of the replication stream.

use crate::cmd::Post;
use crate::config::Config;
use crate::net::client::{Client, ClientHandle};
use crate::resp::{Out, Proto};
use crate::server::Shared;
use crate::store::ReplSink;
use bytes::Bytes;
use parking_lot::Mutex;
use std::sync::Arc;

struct Capture(Arc<Mutex<Vec<u8>>>);

impl ReplSink for Capture {
    fn feed(&mut self, s: &[u8]) {
        self.0.lock().extend_from_slice(s);
    }
}

pub struct Harness {
    pub srv: Arc<Shared>,
    pub client: Client,
    stream: Arc<Mutex<Vec<u8>>>,
}

impl Default for Harness {
    fn default() -> Harness {
        Harness::new()
    }
}

impl Harness {
    pub fn new() -> Harness {
        // No save points: FLUSHALL/SHUTDOWN in unit tests must not write dump files.
        let srv = Shared::new(Config {
            save: crate::config::SavePoints(Vec::new()),
            ..Config::default()
        });
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let addr = "127.0.0.1:1".parse().unwrap();
        let client = Client::new(
            Arc::new(ClientHandle::new(1, addr, addr, tx)),
            true,
            srv.config_snapshot(),
        );
        let stream = Arc::new(Mutex::new(Vec::new()));
        srv.store
            .lock()
            .repl
            .add_sink(Box::new(Capture(stream.clone())));
        Harness {
            srv,
            client,
            stream,
        }
    }

    /// Make the client speak RESP3 from now on (as after HELLO 3).
    pub fn resp3(&mut self) {
        self.client.proto = Proto::Resp3;
    }

    /// List the client in the server's registry (CLIENT LIST, INFO clients).
    pub fn register(&mut self) {
        self.srv.register_client(self.client.handle.clone());
    }

    /// Run one command given as separate (possibly binary) arguments; the raw
    /// reply and the post-actions (close, shutdown...) it asked for.
    pub fn run_posts<A: AsRef<[u8]>>(&mut self, args: &[A]) -> (String, Vec<Post>) {
        let args: Vec<Bytes> = args
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_ref()))
            .collect();
        let mut out = Out::new(Proto::Resp2);
        let mut post = Vec::new();
        let mut st = self.srv.store.lock();
        super::exec::run_batch(
            &self.srv,
            &mut st,
            &mut self.client,
            &mut out,
            &mut post,
            std::slice::from_ref(&args),
        );
        (String::from_utf8_lossy(&out.buf).into_owned(), post)
    }

    /// Run one command given as separate (possibly binary) arguments; the raw reply.
    pub fn run_args<A: AsRef<[u8]>>(&mut self, args: &[A]) -> String {
        self.run_posts(args).0
    }

    /// Run one command (split on spaces); the raw reply.
    pub fn run(&mut self, line: &str) -> String {
        self.run_args(&line.split(' ').collect::<Vec<_>>())
    }

    /// Run a command that must answer with an integer; that integer.
    pub fn int<A: AsRef<[u8]>>(&mut self, args: &[A]) -> i64 {
        let r = self.run_args(args);
        assert!(r.starts_with(':'), "{:?} -> {:?}", lossy(args), r);
        r[1..].trim_end().parse().unwrap()
    }

    /// Run one command (split on spaces) after dropping whatever was
    /// propagated before; the raw reply and what this command propagated
    /// (SELECT left out, MULTI/EXEC kept).
    pub fn exchange(&mut self, line: &str) -> (String, Vec<String>) {
        self.stream.lock().clear();
        let reply = self.run(line);
        let mut cmds = self.stream();
        cmds.retain(|c| c != "SELECT" && !c.starts_with("SELECT "));
        (reply, cmds)
    }

    /// The raw replication stream since the last call.
    pub fn raw_stream(&mut self) -> String {
        String::from_utf8(std::mem::take(&mut *self.stream.lock())).unwrap()
    }

    /// The replication stream since the last call, one command per entry
    /// ("SET k v"), SELECT/MULTI/EXEC included.
    pub fn stream(&mut self) -> Vec<String> {
        let text = self.raw_stream();
        let mut lines = text.split("\r\n");
        let mut cmds = Vec::new();
        while let Some(l) = lines.next() {
            let Some(n) = l.strip_prefix('*') else {
                continue;
            };
            let n: usize = n.parse().unwrap();
            let parts: Vec<&str> = (0..n).map(|_| lines.nth(1).unwrap()).collect();
            cmds.push(parts.join(" "));
        }
        cmds
    }

    /// Propagated commands since the last call, SELECT/MULTI/EXEC left out.
    pub fn effects(&mut self) -> Vec<String> {
        let mut cmds = self.stream();
        cmds.retain(|c| {
            let name = c.split(' ').next().unwrap_or("").to_ascii_uppercase();
            !matches!(name.as_str(), "SELECT" | "MULTI" | "EXEC")
        });
        cmds
    }

    /// Give `key` an absolute expiry directly (e.g. in the past, bypassing EXPIRE).
    pub fn force_expire(&mut self, db: usize, key: &str, at: u64) {
        let mut st = self.srv.store.lock();
        let idx = st.dbs[db].find(key.as_bytes()).unwrap();
        st.dbs[db].set_expire_idx(idx, at);
    }

    /// Number of keys in `db`.
    pub fn len(&self, db: usize) -> usize {
        self.srv.store.lock().dbs[db].len()
    }
}

fn lossy<A: AsRef<[u8]>>(args: &[A]) -> Vec<String> {
    args.iter()
        .map(|a| String::from_utf8_lossy(a.as_ref()).into_owned())
        .collect()
}
