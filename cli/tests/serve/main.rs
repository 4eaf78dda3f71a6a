//! `cee serve` as an internet-facing service (SPEC §11.4), each test on its own server process
//! over real loopback sockets, bounded in time (small timeouts via flags).

mod common;
mod limits;
mod ops;
mod shared;
mod tls;
