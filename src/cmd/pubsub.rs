//! Pub/sub commands.

use super::Ctx;

pub static COMMANDS: &[super::Command] = &[];

/// Drop every subscription of the calling client (RESET).
pub fn unsubscribe_everything(ctx: &mut Ctx) {
    let mut ps = ctx.srv.pubsub.lock();
    for c in ctx.client.subs.drain() {
        ps.unsubscribe(&c, ctx.client.id);
    }
    for p in ctx.client.psubs.drain() {
        ps.punsubscribe(&p, ctx.client.id);
    }
}
