//! Concurrent matching registrations through several engines on one PostgreSQL registry
//! (SPEC §11.5): exactly one succeeds per round. Each engine has its own connections and
//! listener, as separate processes would (the store's own test races processes, with a
//! negative control: `store::postgres::race_process`).

use std::sync::{Arc, Barrier};

use cee_eligibility::clock::ManualClock;
use cee_eligibility::*;

use crate::common::*;
use crate::pg::{fresh_database, support::server};

const ENGINES: usize = 4;
const ROUNDS: usize = 40;

#[test]
fn of_concurrent_matching_registrations_through_several_engines_one_wins() {
    let Some(base) = server("race") else {
        return;
    };
    let db = fresh_database(&base);
    let clock = ManualClock::new(ts("2024-06-15T12:00:00Z"));
    let engines: Vec<Engine> = (0..ENGINES)
        .map(|_| {
            Engine::open(
                Config::postgres(&db)
                    .secret([4; 32])
                    .clock(clock.clone())
                    .durability(Durability::Buffered),
            )
            .unwrap()
        })
        .collect();
    let barrier = Arc::new(Barrier::new(ENGINES));
    let winners: Vec<Vec<bool>> = std::thread::scope(|s| {
        let handles: Vec<_> = engines
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let barrier = Arc::clone(&barrier);
                s.spawn(move || {
                    let o = op(u32::try_from(i).unwrap() + 1);
                    (0..ROUNDS)
                        .map(|round| {
                            // One beneficiary per round (its licence); name, phone and identity
                            // key differ for every engine and round: only the licence matches.
                            let licence = format!("{:012}", 100_000 + round);
                            let phone = format!("+3362{i}{round:04}");
                            let name = ["ABC", "DEF", "GHI", "JKL"][i];
                            let mut req = long_req(
                                &phone,
                                name,
                                &licence,
                                'a',
                                "2024-06-01T00:00:00Z",
                                "2024-06-10T00:00:00Z",
                            );
                            req.identity_key =
                                format!("{:064x}", round * ENGINES + i).parse().unwrap();
                            barrier.wait();
                            matches!(
                                e.register(&o, &req).unwrap(),
                                RegisterOutcome::Registered(_)
                            )
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for round in 0..ROUNDS {
        let won = winners.iter().filter(|w| w[round]).count();
        assert_eq!(won, 1, "round {round}: {won} registrations succeeded");
    }
}
