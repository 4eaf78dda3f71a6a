//! Shared fixtures: a temporary engine on a manual clock, operators, request builders.

use cee_eligibility::clock::ManualClock;
use cee_eligibility::*;

pub type R = Result<(), Box<dyn std::error::Error>>;

pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

pub fn op(id: u32) -> Operator {
    Operator::new(
        id,
        format!("{:014}", 89_248_032_800_000u64 + u64::from(id))
            .parse()
            .unwrap(),
    )
}

pub fn engine_at(now: &str) -> (Engine, ManualClock) {
    let clock = ManualClock::new(ts(now));
    let engine = Engine::open(fresh_config().clock(clock.clone())).unwrap();
    (engine, clock)
}

thread_local! {
    /// Where the current test's fresh registries come from when not temporary ones: set by
    /// `pg::on_postgres` (a fresh PostgreSQL database each).
    pub static FRESH: std::cell::Cell<Option<fn() -> Config>> = const { std::cell::Cell::new(None) };
}

/// A new, empty registry for one test: a temporary one, or — inside `pg::on_postgres`
/// (feature `postgres`) — a fresh PostgreSQL database.
pub fn fresh_config() -> Config {
    FRESH
        .with(|f| f.get())
        .map_or_else(Config::temporary, |make| make())
}

pub fn row(jt: &str, phone: &str, name: &str, datetime: &str) -> ImportRow {
    ImportRow {
        journey_type: jt.into(),
        phone_trunc: phone.into(),
        last_name_trunc: name.into(),
        datetime: datetime.into(),
    }
}

pub fn sim(jt: &str, phone: &str, name: &str) -> SimulateRequest {
    SimulateRequest {
        journey_type: jt.parse().unwrap(),
        phone_trunc: phone.parse().unwrap(),
        last_name_trunc: name.parse().unwrap(),
        driving_license: None,
        identity_key: None,
    }
}

pub fn key(c: char) -> IdentityKey {
    c.to_string().repeat(64).parse().unwrap()
}

pub fn long_req(
    phone: &str,
    name: &str,
    dl: &str,
    ik: char,
    datetime: &str,
    applied: &str,
) -> RegisterRequest {
    RegisterRequest {
        kind: RegisterKind::Long {
            phone_trunc: phone.parse().unwrap(),
            datetime: ts(datetime),
        },
        last_name_trunc: name.parse().unwrap(),
        driving_license: dl.parse().unwrap(),
        identity_key: key(ik),
        application_timestamp: ts(applied),
    }
}

pub fn short_req(ojid: &str, name: &str, dl: &str, ik: char, applied: &str) -> RegisterRequest {
    RegisterRequest {
        kind: RegisterKind::Short {
            operator_journey_id: ojid.parse().unwrap(),
        },
        last_name_trunc: name.parse().unwrap(),
        driving_license: dl.parse().unwrap(),
        identity_key: key(ik),
        application_timestamp: ts(applied),
    }
}

pub fn point(datetime: &str, lat: f64, lon: f64) -> JourneyPoint {
    JourneyPoint {
        datetime: ts(datetime),
        lat: Latitude::new(lat).unwrap(),
        lon: Longitude::new(lon).unwrap(),
        geo_code: None,
    }
}

/// A class C journey from Paris to Versailles, 20 km.
pub fn journey(ojid: &str, phone: &str, start: &str, end: &str) -> Journey {
    Journey {
        operator_journey_id: ojid.parse().unwrap(),
        operator_trip_id: None,
        operator_class: OperatorClass::C,
        start: point(start, 48.8566, 2.3522),
        end: point(end, 48.8049, 2.1204),
        distance: Distance::new(20_000).unwrap(),
        incentives: Incentives::default(),
        driver: Driver {
            phone_trunc: Some(phone.parse().unwrap()),
            identity_key: None,
        },
    }
}

pub fn registered(o: RegisterOutcome) -> Registration {
    match o {
        RegisterOutcome::Registered(r) => r,
        other => panic!("expected a registration, got {other:?}"),
    }
}

pub fn refusal(o: RegisterOutcome) -> Refusal {
    match o {
        RegisterOutcome::Refused(r) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

pub fn blocked(s: Simulation) -> Conflict {
    match s {
        Simulation::Blocked(c) => c,
        Simulation::Eligible => panic!("expected blocked, got eligible"),
    }
}
