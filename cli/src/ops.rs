//! `cee simulate`, `cee register` and `cee stats`: one engine call each, JSON on stdout.

use cee_eligibility::api::{conflict_json, registration_json};
use cee_eligibility::{
    ConflictReason, DrivingLicense, IdentityKey, JourneyType, LastNameTrunc, OperatorJourneyId,
    PhoneTrunc, Refusal, RegisterKind, RegisterOutcome, RegisterRequest, SimulateRequest,
    Simulation, Timestamp,
};
use serde_json::{json, Map, Value};

use crate::policy_args::PolicyArgs;
use crate::{DbArgs, OperatorArgs, Outcome, Result};

/// Arguments of `cee simulate`.
#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    operator: OperatorArgs,
    /// `short` or `long`.
    #[arg(long, value_name = "TYPE")]
    journey_type: JourneyType,
    /// Truncated phone (last two digits removed), e.g. +336273488 or "06 27 34 88".
    #[arg(long, value_name = "PHONE")]
    phone_trunc: PhoneTrunc,
    /// First three letters of the family name, uppercase, e.g. "DUP" or "TO ".
    #[arg(long, value_name = "NAME")]
    last_name_trunc: LastNameTrunc,
    /// Driving licence number, when known.
    #[arg(long, value_name = "LICENCE")]
    driving_license: Option<DrivingLicense>,
    /// Identity key (64 lowercase hex), when known.
    #[arg(long, value_name = "KEY")]
    identity_key: Option<IdentityKey>,
}

/// Arguments of `cee register`.
#[derive(clap::Args, Debug)]
pub struct RegisterArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    operator: OperatorArgs,
    /// `short` (give --operator-journey-id) or `long` (give --phone-trunc and --datetime).
    #[arg(long, value_name = "TYPE")]
    journey_type: JourneyType,
    /// First three letters of the family name, uppercase.
    #[arg(long, value_name = "NAME")]
    last_name_trunc: LastNameTrunc,
    /// Driving licence number.
    #[arg(long, value_name = "LICENCE")]
    driving_license: DrivingLicense,
    /// Identity key (64 lowercase hex).
    #[arg(long, value_name = "KEY")]
    identity_key: IdentityKey,
    /// When the driver applied (RFC 3339 with offset).
    #[arg(long, value_name = "DATETIME")]
    application_timestamp: Timestamp,
    /// Short: the operator's id of a journey stored beforehand.
    #[arg(
        long,
        value_name = "ID",
        required_unless_present = "phone_trunc",
        conflicts_with_all = ["phone_trunc", "datetime"]
    )]
    operator_journey_id: Option<OperatorJourneyId>,
    /// Long: the driver's truncated phone.
    #[arg(long, value_name = "PHONE", requires = "datetime")]
    phone_trunc: Option<PhoneTrunc>,
    /// Long: the payment date (RFC 3339 with offset).
    #[arg(long, value_name = "DATETIME", requires = "phone_trunc")]
    datetime: Option<Timestamp>,
}

/// Arguments of `cee stats`.
#[derive(clap::Args, Debug)]
pub struct StatsArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    policy: PolicyArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Prints `{"error": …}` on stdout when `r` failed, so that a script always gets JSON.
fn json_errors(r: Result<Outcome>) -> Result<Outcome> {
    if let Err(e) = &r {
        println!("{}", json!({ "error": crate::error_chain(&**e) }));
    }
    r
}

/// Runs `cee simulate`: exit 0 eligible, 1 blocked.
pub fn simulate(args: &SimulateArgs) -> Result<Outcome> {
    json_errors((|| {
        let policy = args.policy.resolve()?;
        let engine = args.db.open(|c| c.policy(policy))?;
        let req = SimulateRequest {
            journey_type: args.journey_type,
            phone_trunc: args.phone_trunc.clone(),
            last_name_trunc: args.last_name_trunc,
            driving_license: args.driving_license.clone(),
            identity_key: args.identity_key.clone(),
        };
        Ok(match engine.simulate(&args.operator.operator(), &req)? {
            Simulation::Eligible => {
                println!("{}", json!({ "eligible": true }));
                Outcome::Positive
            }
            Simulation::Blocked(c) => {
                let mut body = conflict_json(&c, true);
                body.insert("eligible".into(), false.into());
                println!("{}", Value::Object(body));
                Outcome::Negative
            }
        })
    })())
}

/// Runs `cee register`: exit 0 registered, 1 refused.
pub fn register(args: &RegisterArgs) -> Result<Outcome> {
    json_errors((|| {
        let kind = match (args.journey_type, &args.operator_journey_id, &args.phone_trunc, args.datetime) {
            (JourneyType::Short, Some(id), None, None) => RegisterKind::Short {
                operator_journey_id: id.clone(),
            },
            (JourneyType::Long, None, Some(phone), Some(datetime)) => RegisterKind::Long {
                phone_trunc: phone.clone(),
                datetime,
            },
            (JourneyType::Short, ..) => {
                return Err("a short registration takes --operator-journey-id (and no --phone-trunc or --datetime)".into())
            }
            (JourneyType::Long, ..) => {
                return Err("a long registration takes --phone-trunc and --datetime (and no --operator-journey-id)".into())
            }
        };
        let policy = args.policy.resolve()?;
        let engine = args.db.open(|c| c.policy(policy))?;
        let req = RegisterRequest {
            kind,
            last_name_trunc: args.last_name_trunc,
            driving_license: args.driving_license.clone(),
            identity_key: args.identity_key.clone(),
            application_timestamp: args.application_timestamp,
        };
        Ok(match engine.register(&args.operator.operator(), &req)? {
            RegisterOutcome::Registered(r) => {
                let mut body = registration_json(&r);
                body.insert("registered".into(), true.into());
                println!("{}", Value::Object(body));
                Outcome::Positive
            }
            RegisterOutcome::Refused(refusal) => {
                println!("{}", refusal_json(&refusal));
                Outcome::Negative
            }
        })
    })())
}

/// `{"registered": false, "reason", "http_status", "message", "conflict"?}`.
fn refusal_json(refusal: &Refusal) -> Value {
    let (reason, http, message) = match refusal {
        Refusal::Date(rule) => ("date", 400, rule.to_string()),
        Refusal::JourneyNotFound => ("journey_not_found", 404, "journey not found".into()),
        Refusal::JourneyNotEligible(why) => ("journey_not_eligible", 404, why.to_string()),
        Refusal::Conflict(c) => (
            "conflict",
            409,
            match c.reason {
                ConflictReason::JourneyTaken => "the journey already carries an application",
                _ => "the beneficiary already benefited within the window",
            }
            .into(),
        ),
        other => ("refused", 400, format!("{other:?}")),
    };
    let mut body = Map::new();
    body.insert("registered".into(), false.into());
    body.insert("reason".into(), reason.into());
    body.insert("http_status".into(), http.into());
    body.insert("message".into(), message.into());
    if let Refusal::Conflict(c) = refusal {
        body.insert("conflict".into(), Value::Object(conflict_json(c, true)));
    }
    Value::Object(body)
}

/// Runs `cee stats`.
pub fn stats(args: &StatsArgs) -> Result<Outcome> {
    let policy = args.policy.resolve()?;
    let engine = args.db.open(|c| c.policy(policy))?;
    let s = engine.stats()?;
    if args.json {
        let body = json!({
            "specific": { "short": s.specific.0, "long": s.specific.1 },
            "standardized": { "short": s.standardized.0, "long": s.standardized.1 },
            "deleted": s.deleted,
            "journeys": s.journeys,
            "error_journal": s.journal,
            "index": { "pseudonyms": s.index.0, "entries": s.index.1 },
            "size_on_disk": s.size_on_disk,
        });
        println!("{body}");
    } else {
        match args.db.dir() {
            Some(dir) => println!("database      {}", dir.display()),
            None => println!("database      PostgreSQL (shared)"),
        }
        println!(
            "specific      {:>10} short  {:>10} long   (imported history)",
            s.specific.0, s.specific.1
        );
        println!(
            "standardized  {:>10} short  {:>10} long   (registered applications)",
            s.standardized.0, s.standardized.1
        );
        println!(
            "deleted       {:>10}                          (tombstones)",
            s.deleted
        );
        println!("journeys      {:>10}", s.journeys);
        println!("error journal {:>10} entries", s.journal);
        println!(
            "index         {:>10} pseudonyms {:>10} entries (in memory)",
            s.index.0, s.index.1
        );
        println!(
            "on disk       {:>10} bytes ({:.1} MiB)",
            s.size_on_disk,
            s.size_on_disk as f64 / (1024.0 * 1024.0)
        );
    }
    Ok(Outcome::Positive)
}
