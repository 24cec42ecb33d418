use crate::common::*;

#[test]
fn starts_and_answers() {
    let s = Server::start();
    let mut c = s.client();
    let pong: String = redis::cmd("PING").query(&mut c).unwrap();
    assert_eq!(pong, "PONG");
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut c).unwrap();
    let v: String = redis::cmd("GET").arg("k").query(&mut c).unwrap();
    assert_eq!(v, "v");
    let mut r = s.raw();
    r.roundtrip(b"PING\r\n", b"+PONG\r\n");
}
