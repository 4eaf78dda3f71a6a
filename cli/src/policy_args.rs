//! The policy in force (SPEC §11.1), shared by every command that opens a registry.
//!
//! Layers, each overriding the one before: [`Policy::default`] (the public registry's last
//! values), the decommissioned registry's environment names `APP_CEE_START_DATE`,
//! `APP_CEE_END_DATE`, `APP_CEE_DELAY` (days), the `--policy` TOML file (any field of
//! `Policy`), then the flags `--start-date`, `--end-date`, `--delay-days`.
//!
//! The registry read the same names in its CEE config (betagouv/preuve-covoiturage, policy
//! service `config`): dates such as `2023-01-01T00:00:00+0100`, and `APP_CEE_DELAY` as a
//! whole number of days ("à partir de combien de jours les demandes peuvent être envoyées").

use std::path::PathBuf;

use cee_eligibility::{Policy, Timestamp};
use serde_json::{Map, Value};

use crate::Result;

/// `--start-date`, `--end-date`, `--delay-days`, `--policy`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct PolicyArgs {
    /// Start of the operation period (RFC 3339 with offset; default 2023-01-01T00:00:00+01:00,
    /// or APP_CEE_START_DATE).
    #[arg(long, value_name = "DATETIME")]
    start_date: Option<Timestamp>,
    /// End of the operation period, excluded (default 2025-01-01T00:00:00+01:00, or
    /// APP_CEE_END_DATE). The default period is over: set the period in force.
    #[arg(long, value_name = "DATETIME")]
    end_date: Option<Timestamp>,
    /// Days a trip must be old before it can be registered (default 7, or APP_CEE_DELAY).
    #[arg(long, value_name = "N")]
    delay_days: Option<u64>,
    /// A TOML file setting any field of the policy (start_date, end_date, registration_delay
    /// in days, short_max_distance, short_class, [short] / [long] windows). Flags win over
    /// it; it wins over the environment.
    #[arg(long = "policy", value_name = "FILE")]
    policy_file: Option<PathBuf>,
}

/// The environment names of the decommissioned registry.
const ENV_START: &str = "APP_CEE_START_DATE";
const ENV_END: &str = "APP_CEE_END_DATE";
const ENV_DELAY: &str = "APP_CEE_DELAY";

impl PolicyArgs {
    /// The policy in force, from the process environment.
    pub fn resolve(&self) -> Result<Policy> {
        self.resolve_with(|name| std::env::var(name).ok())
    }

    /// The policy in force, reading the environment through `env`.
    fn resolve_with(&self, env: impl Fn(&str) -> Option<String>) -> Result<Policy> {
        let mut doc = serde_json::to_value(Policy::default())?;

        let mut from_env = Map::new();
        for (name, key) in [(ENV_START, "start_date"), (ENV_END, "end_date")] {
            if let Some(text) = env(name).filter(|s| !s.trim().is_empty()) {
                let t: Timestamp =
                    text.trim()
                        .parse()
                        .map_err(|e: cee_eligibility::FieldError| {
                            format!("{name}: {}", e.expected())
                        })?;
                from_env.insert(key.into(), t.to_string().into());
            }
        }
        if let Some(text) = env(ENV_DELAY).filter(|s| !s.trim().is_empty()) {
            let days: u64 = text
                .trim()
                .parse()
                .map_err(|_| format!("{ENV_DELAY}: must be a whole number of days"))?;
            from_env.insert("registration_delay".into(), days.into());
        }
        merge(&mut doc, Value::Object(from_env));

        if let Some(path) = &self.policy_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the policy file {}: {e}", path.display()))?;
            let table: toml::Table = toml::from_str(&text)
                .map_err(|e| format!("policy file {}: {e}", path.display()))?;
            // TOML datetimes become one-entry objects that `Policy`'s serde reads.
            merge(&mut doc, serde_json::to_value(table)?);
        }

        let mut flags = Map::new();
        if let Some(t) = self.start_date {
            flags.insert("start_date".into(), t.to_string().into());
        }
        if let Some(t) = self.end_date {
            flags.insert("end_date".into(), t.to_string().into());
        }
        if let Some(d) = self.delay_days {
            flags.insert("registration_delay".into(), d.into());
        }
        merge(&mut doc, Value::Object(flags));

        let what = match &self.policy_file {
            Some(p) => format!("policy (flags, {}, environment)", p.display()),
            None => "policy (flags, environment)".to_owned(),
        };
        serde_json::from_value(doc).map_err(|e| format!("{what}: {e}").into())
    }
}

/// Deep-merges `over` into `base` (objects field by field, anything else replaced).
fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot @ Value::Object(_)) if v.is_object() => merge(slot, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

/// One line describing the policy in force.
pub fn describe(p: &Policy) -> String {
    let delay = p.registration_delay.as_secs();
    let delay = if delay.is_multiple_of(86_400) {
        format!("{} days", delay / 86_400)
    } else {
        format!("{delay} seconds")
    };
    format!(
        "policy in force: operation period {} .. {} (end excluded), registration delay {delay}",
        p.start_date, p.end_date
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn flags_over_file_over_environment() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("policy.toml");
        std::fs::write(
            &file,
            "end_date = 2027-01-01T00:00:00+01:00\nregistration_delay = 3\n\n[long]\nstandardized_window_years = 10\n",
        )?;
        let vars = [
            (ENV_START, "2024-01-01T00:00:00+01:00"),
            (ENV_END, "2026-01-01T00:00:00+01:00"),
            (ENV_DELAY, "5"),
        ];

        let none = PolicyArgs::default();
        assert_eq!(none.resolve_with(env(&[]))?, Policy::default());

        let p = none.resolve_with(env(&vars))?;
        assert_eq!(p.start_date, ts("2024-01-01T00:00:00+01:00"));
        assert_eq!(p.end_date, ts("2026-01-01T00:00:00+01:00"));
        assert_eq!(p.registration_delay, Duration::from_secs(5 * 86_400));

        let with_file = PolicyArgs {
            policy_file: Some(file.clone()),
            ..PolicyArgs::default()
        };
        let p = with_file.resolve_with(env(&vars))?;
        assert_eq!(
            p.start_date,
            ts("2024-01-01T00:00:00+01:00"),
            "env, not in file"
        );
        assert_eq!(p.end_date, ts("2027-01-01T00:00:00+01:00"), "file over env");
        assert_eq!(p.registration_delay, Duration::from_secs(3 * 86_400));
        assert_eq!(p.long.standardized_window_years, 10);
        assert_eq!(p.long.specific_window_years, 10, "long default kept");

        let all = PolicyArgs {
            start_date: Some(ts("2025-01-01T00:00:00Z")),
            end_date: Some(ts("2028-01-01T00:00:00Z")),
            delay_days: Some(0),
            policy_file: Some(file),
        };
        let p = all.resolve_with(env(&vars))?;
        assert_eq!(p.start_date, ts("2025-01-01T00:00:00Z"));
        assert_eq!(p.end_date, ts("2028-01-01T00:00:00Z"));
        assert_eq!(p.registration_delay, Duration::ZERO);
        assert_eq!(p.long.standardized_window_years, 10);
        Ok(())
    }

    #[test]
    fn errors_name_their_source() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let none = PolicyArgs::default();
        let err = |r: Result<Policy>| r.map(|_| ()).map_err(|e| e.to_string()).err();
        let e = err(none.resolve_with(env(&[(ENV_END, "2026-01-01")])));
        assert!(
            e.as_deref().is_some_and(|e| e.starts_with(ENV_END)),
            "{e:?}"
        );
        let e = err(none.resolve_with(env(&[(ENV_DELAY, "7d")])));
        assert!(
            e.as_deref().is_some_and(|e| e.starts_with(ENV_DELAY)),
            "{e:?}"
        );
        let e = err(none.resolve_with(env(&[(ENV_END, "2020-01-01T00:00:00Z")])));
        assert!(
            e.as_deref()
                .is_some_and(|e| e.contains("/end_date: must be after start_date")),
            "{e:?}"
        );
        for (text, why) in [
            ("end_dat = 2027-01-01T00:00:00Z", "unknown field"),
            ("end_date = 2027-01-01T00:00:00", "offset"),
            ("end_date = [", "policy file"),
        ] {
            let file = dir.path().join("p.toml");
            std::fs::write(&file, text)?;
            let args = PolicyArgs {
                policy_file: Some(file),
                ..PolicyArgs::default()
            };
            let e = err(args.resolve_with(env(&[])));
            assert!(
                e.as_deref().is_some_and(|e| e.contains(why)),
                "{text}: {e:?}"
            );
        }
        Ok(())
    }
}
