//! "Is this point in France?" with an offline reverse geocoder (OpenStreetMap boundaries,
//! ODbL, © OpenStreetMap contributors, via the `country-boundaries` crate).
//!
//! Metropolitan France and the five overseas departments (Guadeloupe, Martinique, Guyane,
//! La Réunion, Mayotte) are in; other overseas collectivities are not.

use std::sync::OnceLock;

use country_boundaries::{CountryBoundaries, LatLon, BOUNDARIES_ODBL_360X180};

/// ISO codes of the overseas departments.
const OVERSEAS_DEPARTMENTS: [&str; 5] = ["GP", "MQ", "GF", "RE", "YT"];
/// Overseas collectivities and territories: French, but not eligible.
const COLLECTIVITIES: [&str; 8] = ["NC", "PF", "PM", "WF", "BL", "MF", "TF", "CP"];

fn boundaries() -> Option<&'static CountryBoundaries> {
    static B: OnceLock<Option<CountryBoundaries>> = OnceLock::new();
    B.get_or_init(|| CountryBoundaries::from_reader(BOUNDARIES_ODBL_360X180).ok())
        .as_ref()
}

/// Is the point in metropolitan France or an overseas department?
pub(crate) fn in_france(lat: f64, lon: f64) -> bool {
    let Some(b) = boundaries() else { return false };
    let Ok(pos) = LatLon::new(lat, lon) else {
        return false;
    };
    let ids = b.ids(pos);
    let has = |code: &str| {
        ids.iter()
            .any(|id| *id == code || id.starts_with(&format!("{code}-")))
    };
    if OVERSEAS_DEPARTMENTS.iter().any(|c| has(c)) {
        return true;
    }
    has("FR") && !COLLECTIVITIES.iter().any(|c| has(c))
}

#[cfg(test)]
mod tests {
    use super::in_france;

    #[test]
    fn places() {
        assert!(in_france(48.8566, 2.3522), "Paris");
        assert!(in_france(43.2965, 5.3698), "Marseille");
        assert!(in_france(16.2412, -61.5331), "Guadeloupe");
        assert!(in_france(14.6161, -61.0588), "Martinique");
        assert!(in_france(4.9224, -52.3135), "Guyane");
        assert!(in_france(-20.8821, 55.4507), "La Réunion");
        assert!(in_france(-12.7806, 45.2279), "Mayotte");
        assert!(!in_france(-22.2758, 166.4580), "Nouméa");
        assert!(!in_france(-17.5516, -149.5585), "Papeete");
        assert!(!in_france(46.7811, -56.1764), "Saint-Pierre");
        assert!(!in_france(50.8503, 4.3517), "Brussels");
        assert!(!in_france(52.52, 13.405), "Berlin");
        assert!(!in_france(0.0, 0.0), "Gulf of Guinea");
    }
}
