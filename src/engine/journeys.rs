//! Journeys that short-distance claims refer to: store, patch, status, eligibility.

use super::types::*;
use super::{Engine, Inner};
use crate::error::Error;
use crate::fields::{ApplicationId, JourneyStatus, OperatorJourneyId, PhoneTrunc, Timestamp};
use crate::policy::{NotEligible, Place};
use crate::store::{ChangeSet, IdSpace, JourneyRecord, PointRecord};

fn point(p: &JourneyPoint) -> PointRecord {
    PointRecord {
        datetime: p.datetime.as_millis(),
        lat: p.lat.get(),
        lon: p.lon.get(),
        geo_code: p.geo_code.as_ref().map(|g| g.as_str().to_owned()),
    }
}

fn incentives(j: &crate::fields::Incentives) -> Vec<(u8, f64, String)> {
    j.as_slice()
        .iter()
        .map(|i| (i.index(), i.amount(), i.siret().to_string()))
        .collect()
}

impl Engine {
    /// Stores a journey of the caller's, with status `pending`.
    ///
    /// # Errors
    /// [`Error::Conflict`] when the caller already stored this `operator_journey_id`.
    #[tracing::instrument(level = "debug", skip_all, fields(operator = op.id))]
    pub fn put_journey(&self, op: &Operator, journey: &Journey) -> Result<StoredJourney, Error> {
        let inner = &*self.inner;
        let now = inner.clock.now().as_millis();
        inner.write(|txn| {
            if txn.journey_exists(op.id, journey.operator_journey_id.as_str())? {
                return Err(Error::Conflict("journey already exists"));
            }
            let id = txn.next_id(IdSpace::Journey)?;
            let record = JourneyRecord {
                id,
                operator_journey_id: journey.operator_journey_id.as_str().to_owned(),
                operator_trip_id: journey
                    .operator_trip_id
                    .as_ref()
                    .map(|t| t.as_str().to_owned()),
                operator_class: journey.operator_class,
                start: point(&journey.start),
                end: point(&journey.end),
                distance: journey.distance.metres(),
                incentives: incentives(&journey.incentives),
                driver_phone_sealed: journey
                    .driver
                    .phone_trunc
                    .as_ref()
                    .map(|p| inner.keys.seal(id, p.as_str().as_bytes())),
                driver_identity_key: journey
                    .driver
                    .identity_key
                    .as_ref()
                    .map(|k| inner.keys.identity_key(k).0),
                status: JourneyStatus::Pending,
                application: None,
                created_at: now,
                updated_at: now,
            };
            let out = stored(&record)?;
            let mut changes = ChangeSet::default();
            changes.journeys.push((op.id, record));
            Ok((out, changes))
        })
    }

    /// Corrects a journey that failed validation: replaces the given fields and resets its
    /// status to `pending`.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown journey; [`Error::Conflict`] when it already carries
    /// a CEE application (a signed claim refers to it).
    #[tracing::instrument(level = "debug", skip_all, fields(operator = op.id))]
    pub fn patch_journey(
        &self,
        op: &Operator,
        operator_journey_id: &OperatorJourneyId,
        patch: &JourneyPatch,
    ) -> Result<StoredJourney, Error> {
        let inner = &*self.inner;
        inner.write(|txn| {
            let mut j = txn
                .journey(op.id, operator_journey_id.as_str())?
                .ok_or(Error::NotFound { what: "journey" })?;
            if j.application.is_some() {
                return Err(Error::Conflict(
                    "journey carries a CEE application and cannot be patched",
                ));
            }
            if let Some(t) = &patch.operator_trip_id {
                j.operator_trip_id = Some(t.as_str().to_owned());
            }
            if let Some(c) = patch.operator_class {
                j.operator_class = c;
            }
            if let Some(i) = &patch.incentives {
                j.incentives = incentives(i);
            }
            if let Some(p) = &patch.start {
                j.start = point(p);
            }
            if let Some(p) = &patch.end {
                j.end = point(p);
            }
            if let Some(d) = patch.distance {
                j.distance = d.metres();
            }
            j.status = JourneyStatus::Pending;
            j.updated_at = inner.clock.now().as_millis();
            let out = stored(&j)?;
            let mut changes = ChangeSet::default();
            changes.journeys.push((op.id, j));
            Ok((out, changes))
        })
    }

    /// Sets a journey's status (the host's validation outcome).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown journey.
    pub fn set_journey_status(
        &self,
        op: &Operator,
        operator_journey_id: &OperatorJourneyId,
        status: JourneyStatus,
    ) -> Result<(), Error> {
        let inner = &*self.inner;
        inner.write(|txn| {
            let mut j = txn
                .journey(op.id, operator_journey_id.as_str())?
                .ok_or(Error::NotFound { what: "journey" })?;
            j.status = status;
            j.updated_at = inner.clock.now().as_millis();
            let mut changes = ChangeSet::default();
            changes.journeys.push((op.id, j));
            Ok(((), changes))
        })
    }

    /// Cancels one of the caller's journeys (the operator's `POST /journeys/{id}/cancel`): its
    /// status becomes [`JourneyStatus::Canceled`]. Canceling twice is allowed (same answer).
    ///
    /// ```
    /// use cee_eligibility::{Config, Engine, JourneyStatus, Operator};
    /// # use cee_eligibility::{Driver, Incentives, Journey, JourneyPoint, Latitude, Longitude, Distance};
    /// let engine = Engine::open(Config::temporary())?;
    /// let op = Operator::new(1, "89248032800012".parse()?);
    /// # let point = |t: &str| -> Result<JourneyPoint, Box<dyn std::error::Error>> {
    /// #     Ok(JourneyPoint { datetime: t.parse()?, lat: Latitude::new(48.85)?, lon: Longitude::new(2.35)?, geo_code: None })
    /// # };
    /// # let journey = Journey { operator_journey_id: "j-1".parse()?, operator_trip_id: None,
    /// #     operator_class: "C".parse()?, start: point("2026-05-01T08:00:00Z")?, end: point("2026-05-01T08:30:00Z")?,
    /// #     distance: Distance::new(20_000)?, incentives: Incentives::default(), driver: Driver::default() };
    /// engine.put_journey(&op, &journey)?;
    /// let stored = engine.cancel_journey(&op, &"j-1".parse()?)?;
    /// assert_eq!(stored.status, JourneyStatus::Canceled);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown journey; [`Error::Conflict`] when it carries a CEE
    /// application (a signed claim refers to it: delete the application first).
    #[tracing::instrument(level = "debug", skip_all, fields(operator = op.id))]
    pub fn cancel_journey(
        &self,
        op: &Operator,
        operator_journey_id: &OperatorJourneyId,
    ) -> Result<StoredJourney, Error> {
        let inner = &*self.inner;
        inner.write(|txn| {
            let mut j = txn
                .journey(op.id, operator_journey_id.as_str())?
                .ok_or(Error::NotFound { what: "journey" })?;
            if j.application.is_some() {
                return Err(Error::Conflict(
                    "journey carries a CEE application and cannot be canceled",
                ));
            }
            j.status = JourneyStatus::Canceled;
            j.updated_at = inner.clock.now().as_millis();
            let out = stored(&j)?;
            let mut changes = ChangeSet::default();
            changes.journeys.push((op.id, j));
            Ok((out, changes))
        })
    }

    /// One of the caller's journeys.
    ///
    /// # Errors
    /// Storage or corruption errors.
    pub fn journey(
        &self,
        op: &Operator,
        operator_journey_id: &OperatorJourneyId,
    ) -> Result<Option<StoredJourney>, Error> {
        self.inner
            .get_journey(op.id, operator_journey_id.as_str())?
            .map(|j| stored(&j))
            .transpose()
    }
}

fn stored(j: &JourneyRecord) -> Result<StoredJourney, Error> {
    let corrupt = |what: &str| Error::Corrupt {
        record: format!("journey #{}", j.id),
        reason: format!("invalid {what}"),
    };
    Ok(StoredJourney {
        journey_id: j.id,
        operator_journey_id: j
            .operator_journey_id
            .parse()
            .map_err(|_| corrupt("operator_journey_id"))?,
        operator_class: j.operator_class,
        start_datetime: Timestamp::from_millis(j.start.datetime).ok_or_else(|| corrupt("start"))?,
        end_datetime: Timestamp::from_millis(j.end.datetime).ok_or_else(|| corrupt("end"))?,
        distance: j.distance,
        status: j.status,
        application: j.application.map(ApplicationId::from_bytes),
    })
}

impl Inner {
    pub(crate) fn get_journey(
        &self,
        operator: u32,
        ojid: &str,
    ) -> Result<Option<JourneyRecord>, Error> {
        self.store.journey(operator, ojid)
    }

    /// SPEC §4 journey eligibility (short).
    pub(crate) fn journey_eligibility(&self, j: &JourneyRecord) -> Result<(), NotEligible> {
        let class = j.operator_class;
        let start_at =
            Timestamp::from_millis(j.start.datetime).ok_or_else(|| self.policy.period())?;
        fn place(p: &PointRecord) -> Place<'_> {
            Place {
                geo_code: p.geo_code.as_deref(),
                lat: p.lat,
                lon: p.lon,
            }
        }
        let (start, end) = (place(&j.start), place(&j.end));
        self.policy
            .short_journey(class, j.distance, start_at, start, end)
    }

    /// The driver's phone, unsealed.
    pub(crate) fn driver_phone(&self, j: &JourneyRecord) -> Result<Option<PhoneTrunc>, Error> {
        let Some(sealed) = &j.driver_phone_sealed else {
            return Ok(None);
        };
        let clear = self.keys.seal(j.id, sealed);
        std::str::from_utf8(&clear)
            .ok()
            .and_then(|s| s.parse().ok())
            .map(Some)
            .ok_or_else(|| Error::Corrupt {
                record: format!("journey #{}", j.id),
                reason: "driver phone cannot be unsealed".into(),
            })
    }
}
