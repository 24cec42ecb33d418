//! The RESP codec shared by the data node, the sentinel and their client links.

pub mod hello;
pub mod out;
pub mod parse;

pub use out::{encode_command, Out, Proto};
pub use parse::{parse_request, parse_request_frame, split_args, Limits, ProtocolError, Request};
pub mod reply;
