//! Unit-test harness for command handlers: a real `Shared`, one client, the
//! real executor, and a capture of the replication stream.

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

impl Harness {
    pub fn new() -> Harness {
        let srv = Shared::new(Config::default());
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let addr = "127.0.0.1:1".parse().unwrap();
        let client = Client::new(Arc::new(ClientHandle::new(1, addr, addr, tx)), true);
        let stream = Arc::new(Mutex::new(Vec::new()));
        srv.store.lock().repl.add_sink(Box::new(Capture(stream.clone())));
        Harness { srv, client, stream }
    }

    /// Run one command (split on spaces); the raw RESP2 reply.
    pub fn run(&mut self, line: &str) -> String {
        let args: Vec<Bytes> = line.split(' ').map(|a| Bytes::from(a.to_string())).collect();
        let mut out = Out::new(Proto::Resp2);
        let mut post = Vec::new();
        let mut st = self.srv.store.lock();
        super::exec::run_batch(&self.srv, &mut st, &mut self.client, &mut out, &mut post, std::slice::from_ref(&args));
        String::from_utf8_lossy(&out.buf).into_owned()
    }

    /// The replication stream since the last call, one command per entry
    /// ("SET k v"), SELECT/MULTI/EXEC included.
    pub fn stream(&mut self) -> Vec<String> {
        let raw = std::mem::take(&mut *self.stream.lock());
        let text = String::from_utf8(raw).unwrap();
        let mut lines = text.split("\r\n");
        let mut cmds = Vec::new();
        while let Some(l) = lines.next() {
            let Some(n) = l.strip_prefix('*') else { continue };
            let n: usize = n.parse().unwrap();
            let parts: Vec<&str> = (0..n).map(|_| {
                lines.next();
                lines.next().unwrap()
            }).collect();
            cmds.push(parts.join(" "));
        }
        cmds
    }
}
