//! End-to-end tests of the `peercoach` binary and of real nodes on loopback. One
//! integration binary with a module per area (ripgrep's layout); fixtures in `util`.

mod asked;
mod cli;
mod crash;
mod desktop;
mod disk;
mod load;
mod meet;
mod net_sim;
mod notes;
mod open;
mod serve;
mod sync;
mod trust;
mod undo;
mod util;
