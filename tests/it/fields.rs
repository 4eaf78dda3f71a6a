//! Field validators: every reference vector of SPEC §9, the façade error wording, serde, and
//! properties (no parser panics; `parse(display(x)) == x`).

use std::error::Error;
use std::fmt::Display;
use std::str::FromStr;

use cee_eligibility::{
    ApplicationId, Distance, DrivingLicense, FieldError, GeoCode, IdentityKey, Incentive,
    Incentives, JourneyStatus, JourneyType, LastNameTrunc, Latitude, Longitude, OperatorClass,
    OperatorJourneyId, PhoneTrunc, Siret, Timestamp,
};
use proptest::prelude::*;

type TestResult = Result<(), Box<dyn Error>>;

/// Parses every `(input, canonical)` pair and every invalid input, checking the error text.
fn check_table<T>(valid: &[(&str, &str)], invalid: &[&str], error: &str) -> TestResult
where
    T: FromStr<Err = FieldError> + Display + PartialEq + std::fmt::Debug,
{
    for (input, canonical) in valid {
        let parsed: T = input
            .parse()
            .map_err(|e| format!("{input:?} should be valid: {e}"))?;
        assert_eq!(parsed.to_string(), *canonical, "{input:?}");
        assert_eq!(
            canonical.parse::<T>()?,
            parsed,
            "canonical of {input:?} parses back"
        );
    }
    for input in invalid {
        let err = input.parse::<T>().map(|v| v.to_string());
        assert_eq!(
            err.map_err(|e| e.to_string()),
            Err(error.to_owned()),
            "{input:?}"
        );
    }
    Ok(())
}

/// Inputs that are their own canonical form.
fn same<'a>(inputs: &[&'a str]) -> Vec<(&'a str, &'a str)> {
    inputs.iter().map(|s| (*s, *s)).collect()
}

#[test]
fn spec_phone_trunc_vectors() -> TestResult {
    check_table::<PhoneTrunc>(
        &[
            ("+336273488", "+336273488"),
            ("06273488", "+336273488"),
            ("06 27 34 88", "+336273488"),
            ("+33 6 27 34 88", "+336273488"),
            ("+33.6.27.34.88", "+336273488"),
            ("+33(0)6273488", "+336273488"),
            ("00336273488", "+336273488"),
            ("+336273488 ", "+336273488"),
            ("+331234567", "+331234567"),
            ("+5906901010", "+5906901010"),
            ("+2626931234", "+2626931234"),
            ("+32251389", "+32251389"),
            ("+4479111234", "+4479111234"),
            // own edge cases
            ("06-27-34-88", "+336273488"),
            ("+33 (0)6 27 34 88", "+336273488"),
            ("\t06 27 34 88\n", "+336273488"),
            ("+33 06 27 34 88", "+336273488"),
            ("+39 06 1234 56", "+3906123456"),
        ],
        &[
            "bip",
            "",
            "+33627348",
            "+3362734880",
            "+33627348801",
            "0627348",
            "062734880",
            "+3312345678",
            "+33123456",
            "+33000000",
            "12345678",
            "+590690101",
            "+262693123",
            "+3225138940",
            "+447911123456",
            "+1415555012",
            "+337000001",
            // own edge cases
            "+",
            "00",
            "++336273488",
            "+0336273488",
            "(0)6273488",
            "06 27 34 88 x",
            "+33６273488",
            "٠٦٢٧٣٤٨٨",
        ],
        "/phone_trunc: must be a valid truncated phone number",
    )
}

#[test]
fn phone_from_full_phone() -> TestResult {
    assert_eq!(
        PhoneTrunc::from_full_phone("06 27 34 88 01")?,
        "+336273488".parse()?
    );
    assert_eq!(
        PhoneTrunc::from_full_phone("06 27 34 88")
            .map_err(|e| e.to_string())
            .map(|p| p.to_string()),
        Err("/phone: must be a valid phone number".to_owned())
    );
    Ok(())
}

#[test]
fn spec_last_name_trunc_vectors() -> TestResult {
    check_table::<LastNameTrunc>(
        &same(&["ABC", "D H", "TO ", "   ", " AB"]),
        &[
            "abcd", "abc", "ab ", "AB", "ABCD", "AÉC", "A-C", "A'C", "AB1", // SPEC §9
            "", "A\tC", "ÉA",
        ],
        "/last_name_trunc: must be 3 characters among uppercase letters A-Z and space",
    )
}

#[test]
fn spec_from_family_name_vectors() -> TestResult {
    assert_eq!(
        LastNameTrunc::from_family_name("D'Hérûg-de-l'Hérault")?.as_str(),
        "D H"
    );
    assert_eq!(LastNameTrunc::from_family_name("Tô")?.as_str(), "TO ");
    assert_eq!(LastNameTrunc::from_family_name("Le Pen")?.as_str(), "LE ");
    assert_eq!(LastNameTrunc::from_family_name("ÉLODIE")?.as_str(), "ELO");
    for no_letter in ["", "  ", "-", "'-'"] {
        assert_eq!(
            LastNameTrunc::from_family_name(no_letter).map_err(|e| e.to_string()),
            Err("/last_name: must contain at least one letter".to_owned()),
            "{no_letter:?}"
        );
    }
    assert_eq!(
        LastNameTrunc::from_family_name("Smith3").map_err(|e| e.to_string()),
        Err("/last_name: must contain latin letters only".to_owned())
    );
    Ok(())
}

#[test]
fn spec_driving_license_vectors() -> TestResult {
    check_table::<DrivingLicense>(
        &same(&[
            "051227308989",
            "822146819",
            "123456A",
            "99-X23836",
            "A",
            "ABCDEFGHIJKLMNO",
            "ABCDEFGHIJKLMNO1234",
            "1234567890123456",
            "99-a",
            "99-x b-é",
        ]),
        &[
            "bip",
            "ABCDEFGHIJKLMNOP",
            "ABCDEFGHIJKLMNOP1234",
            "12345678901234567890",
            "051227308989 ",
            "0512-2730",
            "a12345",
            "99-",
            "",
            // own edge cases
            "99-a\nb",
            " A",
        ],
        "/driving_license: must be a valid driving license number",
    )?;
    let longest_foreign = format!("99-{}", "é".repeat(61));
    assert!(longest_foreign.parse::<DrivingLicense>().is_ok());
    let too_long = format!("99-{}", "a".repeat(62));
    assert!(too_long.parse::<DrivingLicense>().is_err());
    Ok(())
}

#[test]
fn spec_identity_key_vectors() -> TestResult {
    let (zeros, a64) = ("0".repeat(64), "a".repeat(64));
    let (upper, g64, short, long) = (
        "A".repeat(64),
        "g".repeat(64),
        "a".repeat(63),
        "a".repeat(65),
    );
    check_table::<IdentityKey>(
        &same(&[zeros.as_str(), a64.as_str()]),
        &["bip", &upper, &g64, &short, &long, ""],
        "/identity_key: must be 64 lowercase hexadecimal characters",
    )
}

#[test]
fn spec_identity_key_compute_vector() -> TestResult {
    let key = IdentityKey::compute("+33701020304", "D'Hérûg-de-l'Hérault")?;
    assert_eq!(
        key.as_str(),
        "f44ff5364363e53da750d8b7b44fa3176ea36228c5f951a9c1e606c915093d30"
    );
    assert_eq!(key.to_string().parse::<IdentityKey>()?, key);
    assert_eq!(
        IdentityKey::compute("0701020304", "Dupont").map_err(|e| e.field()),
        Err("phone")
    );
    Ok(())
}

#[test]
fn spec_datetime_vectors() -> TestResult {
    check_table::<Timestamp>(
        &[
            ("2023-01-02T00:00:00.000Z", "2023-01-02T00:00:00.000Z"),
            ("2023-01-02T00:00:00Z", "2023-01-02T00:00:00.000Z"),
            ("2023-01-02T00:00:00+01:00", "2023-01-01T23:00:00.000Z"),
            ("2023-01-02t00:00:00z", "2023-01-02T00:00:00.000Z"),
            ("2023-01-02 00:00:00Z", "2023-01-02T00:00:00.000Z"),
            ("2023-01-02T00:00:00+0100", "2023-01-01T23:00:00.000Z"),
            ("2023-01-02T00:00:00.123456789Z", "2023-01-02T00:00:00.123Z"),
            ("2024-02-29T00:00:00Z", "2024-02-29T00:00:00.000Z"),
            // own edge cases
            ("2019-12-31T23:00:00Z", "2019-12-31T23:00:00.000Z"),
            ("2020-01-01T00:00:00+01:00", "2019-12-31T23:00:00.000Z"),
            ("2023-06-01T12:00:00-02:30", "2023-06-01T14:30:00.000Z"),
            ("2023-01-02T00:00:00.1Z", "2023-01-02T00:00:00.100Z"),
            ("2023-01-02T00:00:00.9999Z", "2023-01-02T00:00:00.999Z"),
            ("0000-01-01T00:00:00Z", "0000-01-01T00:00:00.000Z"),
            ("9999-12-31T23:59:59.999999999Z", "9999-12-31T23:59:59.999Z"),
        ],
        &[
            "bip",
            "2023-01-02T00:00:00",
            "2023-01-02",
            "2023-01-02T00:00Z",
            "2023-02-30T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2023-01-02T24:00:00Z",
            "2023-01-02T23:59:60Z",
            "+012023-01-02T00:00:00Z",
            // own edge cases
            "",
            "2023-01-02T00:00:00.Z",
            "2023-01-02T00:00:00.1234567890Z",
            "2023-01-02T00:00:00+01",
            "2023-01-02T00:00:00+24:00",
            "2023-01-02T00:00:00 +01:00",
            "2023-01-02T00:00:00Z ",
            "10000-01-01T00:00:00Z",
            "0000-01-01T00:00:00+00:01",
            "9999-12-31T23:59:59-00:01",
            "2023-01-02T00:00:00Zé",
        ],
        "/datetime: must be an rfc 3339 date-time with a time zone offset",
    )?;
    let too_long = format!("2023-01-02T00:00:00.{}Z", "0".repeat(44));
    assert!(too_long.len() > 64 && too_long.parse::<Timestamp>().is_err());
    Ok(())
}

#[test]
fn small_fields_tables() -> TestResult {
    check_table::<JourneyType>(
        &same(&["short", "long"]),
        &["", "Short", "LONG", "short "],
        "/journey_type: must be either short or long",
    )?;
    check_table::<OperatorClass>(
        &same(&["A", "B", "C"]),
        &["", "a", "D", "AB"],
        "/operator_class: must be one of A, B, C",
    )?;
    let longest_id = "~".repeat(256);
    let too_long_id = "a".repeat(257);
    check_table::<OperatorJourneyId>(
        &same(&["1", "journey-42/a", "!~", &longest_id]),
        &["", "a b", "é", "a\u{7f}", &too_long_id],
        "/operator_journey_id: must be 1 to 256 visible ascii characters",
    )?;
    check_table::<Siret>(
        &same(&["89248032800012"]),
        &["", "8924803280001", "892480328000120", "8924803280001A"],
        "/siret: must be exactly 14 digits",
    )?;
    check_table::<GeoCode>(
        &same(&["75056", "2A004", "2B033", "99134"]),
        &["", "2C004", "7505", "750566"],
        "/geo_code: must be a 5-character insee code",
    )?;
    check_table::<ApplicationId>(
        &[
            (
                "9c5a2f1e-0b7d-4e3a-8f6b-1d2c3b4a5e6f",
                "9c5a2f1e-0b7d-4e3a-8f6b-1d2c3b4a5e6f",
            ),
            (
                "9C5A2F1E-0B7D-4E3A-8F6B-1D2C3B4A5E6F",
                "9c5a2f1e-0b7d-4e3a-8f6b-1d2c3b4a5e6f",
            ),
        ],
        &["", "bip", "9c5a2f1e0b7d4e3a8f6b1d2c3b4a5e6f"],
        "/uuid: must be a valid uuid",
    )?;
    check_table::<Distance>(
        &[
            ("0", "0"),
            ("80000", "80000"),
            ("42.0", "42"),
            ("1000000", "1000000"),
        ],
        &["", "-1", "1000001", "42.5", "1e3"],
        "/distance: must be an integer number of meters between 0 and 1000000",
    )?;
    check_table::<Latitude>(
        &[("48.8566", "48.8566"), ("-90", "-90"), ("90.0", "90")],
        &["", "NaN", "inf", "90.1", "0x1"],
        "/lat: must be a number between -90 and 90",
    )?;
    check_table::<Longitude>(
        &[("2.3522", "2.3522"), ("-180", "-180")],
        &["", "-inf", "180.5"],
        "/lon: must be a number between -180 and 180",
    )?;
    for status in JourneyStatus::ALL {
        assert_eq!(status.to_string().parse::<JourneyStatus>()?, status);
    }
    Ok(())
}

#[test]
fn for_field_renames_the_error() {
    let err = "bip"
        .parse::<Timestamp>()
        .map_err(|e| e.for_field("application_timestamp").to_string());
    assert_eq!(
        err,
        Err("/application_timestamp: must be an rfc 3339 date-time with a time zone offset".into())
    );
}

#[test]
fn debug_output_hides_identifiers() -> TestResult {
    let phone: PhoneTrunc = "+336273488".parse()?;
    let name: LastNameTrunc = "DUP".parse()?;
    let licence: DrivingLicense = "051227308989".parse()?;
    let key: IdentityKey = "a".repeat(64).parse()?;
    let shown = format!("{phone:?} {name:?} {licence:?} {key:?}");
    for secret in ["6273488", "DUP", "051227308989", "aaaa"] {
        assert!(!shown.contains(secret), "{shown}");
    }
    Ok(())
}

#[derive(Debug, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct Row {
    journey_type: JourneyType,
    phone_trunc: PhoneTrunc,
    last_name_trunc: LastNameTrunc,
    datetime: Timestamp,
}

#[test]
fn serde_validates_and_serializes_canonical() -> TestResult {
    let row: Row = serde_json::from_str(
        r#"{"journey_type":"short","phone_trunc":"06 27 34 88","last_name_trunc":"D H","datetime":"2023-01-02T00:00:00+01:00"}"#,
    )?;
    assert_eq!(
        serde_json::to_string(&row)?,
        r#"{"journey_type":"short","phone_trunc":"+336273488","last_name_trunc":"D H","datetime":"2023-01-01T23:00:00.000Z"}"#
    );
    let bad = serde_json::from_str::<Row>(
        r#"{"journey_type":"medium","phone_trunc":"+336273488","last_name_trunc":"D H","datetime":"2023-01-02T00:00:00Z"}"#,
    );
    let message = bad.map(|_| ()).map_err(|e| e.to_string());
    assert!(
        message
            .as_ref()
            .is_err_and(|m| m.starts_with("/journey_type: must be either short or long")),
        "{message:?}"
    );
    let unknown = serde_json::from_str::<Row>(
        r#"{"journey_type":"short","phone_trunc":"+336273488","last_name_trunc":"D H","datetime":"2023-01-02T00:00:00Z","extra":1}"#,
    );
    assert!(unknown.is_err_and(|e| e.to_string().contains("extra")));
    // A number where a string is expected is a type error, not a panic.
    assert!(serde_json::from_str::<PhoneTrunc>("336273488").is_err());
    assert!(serde_json::from_str::<Siret>("89248032800012").is_err());
    Ok(())
}

#[test]
fn serde_numbers() -> TestResult {
    assert_eq!(serde_json::from_str::<Distance>("42.0")?.metres(), 42);
    assert_eq!(serde_json::to_string(&Distance::new(42)?)?, "42");
    for bad in ["42.5", "-1", "1000001", "\"42\"", "null"] {
        assert!(serde_json::from_str::<Distance>(bad).is_err(), "{bad}");
    }
    assert_eq!(serde_json::from_str::<Latitude>("48")?.get(), 48.0);
    assert_eq!(serde_json::from_str::<Longitude>("-1.5")?.get(), -1.5);
    for bad in ["\"48\"", "91", "1e999", "null"] {
        assert!(serde_json::from_str::<Latitude>(bad).is_err(), "{bad}");
    }
    Ok(())
}

#[test]
fn serde_incentives() -> TestResult {
    let list: Incentives = serde_json::from_str(
        r#"[{"index":0,"amount":150,"siret":"89248032800012"},{"index":1.0,"amount":0.5,"siret":"89248032800012"}]"#,
    )?;
    assert_eq!(list.as_slice().len(), 2);
    assert_eq!(list.as_slice().get(1).map(Incentive::index), Some(1));
    assert_eq!(
        serde_json::to_string(&list)?,
        r#"[{"index":0,"amount":150.0,"siret":"89248032800012"},{"index":1,"amount":0.5,"siret":"89248032800012"}]"#
    );
    let one = r#"{"index":0,"amount":1,"siret":"89248032800012"}"#;
    let too_many = format!("[{}]", vec![one; 21].join(","));
    assert!(
        serde_json::from_str::<Incentives>(&too_many).is_err_and(|e| e
            .to_string()
            .contains("/incentives: must have at most 20 items"))
    );
    for (bad, needle) in [
        (
            r#"{"index":20,"amount":1,"siret":"89248032800012"}"#,
            "/index:",
        ),
        (
            r#"{"index":1.5,"amount":1,"siret":"89248032800012"}"#,
            "/index:",
        ),
        (
            r#"{"index":0,"amount":100001,"siret":"89248032800012"}"#,
            "/amount:",
        ),
        (
            r#"{"index":0,"amount":-1,"siret":"89248032800012"}"#,
            "/amount:",
        ),
        (r#"{"index":0,"amount":1,"siret":"123"}"#, "/siret:"),
        (
            r#"{"index":0,"amount":1,"siret":"89248032800012","x":1}"#,
            "`x`",
        ),
        (r#"{"index":0,"amount":1}"#, "siret"),
    ] {
        let err = serde_json::from_str::<Incentive>(bad).map(|_| ());
        assert!(
            err.as_ref().is_err_and(|e| e.to_string().contains(needle)),
            "{bad}: {err:?}"
        );
    }
    Ok(())
}

/// Parses `s` with every textual parser: none may panic, and whatever parses must print a
/// canonical form that parses back to the same value.
fn parse_everything(s: &str) -> Result<(), TestCaseError> {
    fn round_trip<T>(s: &str) -> Result<(), TestCaseError>
    where
        T: FromStr + Display + PartialEq + std::fmt::Debug,
        T::Err: std::fmt::Debug,
    {
        if let Ok(v) = s.parse::<T>() {
            let shown = v.to_string();
            prop_assert_eq!(shown.parse::<T>().ok(), Some(v), "{:?} -> {:?}", s, shown);
        }
        Ok(())
    }
    round_trip::<PhoneTrunc>(s)?;
    round_trip::<Timestamp>(s)?;
    round_trip::<LastNameTrunc>(s)?;
    round_trip::<DrivingLicense>(s)?;
    round_trip::<IdentityKey>(s)?;
    round_trip::<JourneyType>(s)?;
    round_trip::<OperatorClass>(s)?;
    round_trip::<OperatorJourneyId>(s)?;
    round_trip::<JourneyStatus>(s)?;
    round_trip::<Siret>(s)?;
    round_trip::<ApplicationId>(s)?;
    round_trip::<GeoCode>(s)?;
    round_trip::<Distance>(s)?;
    round_trip::<Latitude>(s)?;
    round_trip::<Longitude>(s)?;
    if let Ok(name) = LastNameTrunc::from_family_name(s) {
        prop_assert_eq!(name.to_string().parse::<LastNameTrunc>().ok(), Some(name));
    }
    let _ = IdentityKey::compute(s, s);
    let _ = PhoneTrunc::from_full_phone(s);
    Ok(())
}

/// Strings made of the characters the validators care about, multi-byte ones included.
fn field_alphabet_string() -> impl Strategy<Value = String> {
    const ALPHABET: &[char] = &[
        '0', '1', '2', '3', '4', '6', '7', '9', '+', ' ', '.', '-', '(', ')', ':', 'T', 't', 'Z',
        'z', 'A', 'B', 'C', 'a', 'é', 'É', '\'', '’', '\u{a0}', '\u{301}', '٣', '６', '🚗', '\n',
    ];
    proptest::collection::vec(proptest::sample::select(ALPHABET), 0..40)
        .prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #[test]
    fn no_parser_panics_on_printable_strings(s in "\\PC*") {
        parse_everything(&s)?;
    }

    #[test]
    fn no_parser_panics_on_byte_strings(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        parse_everything(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn no_parser_panics_on_field_alphabet(s in field_alphabet_string()) {
        parse_everything(&s)?;
    }

    #[test]
    fn near_valid_inputs_round_trip(
        s in "(\\+33|0|0033|\\+590|\\+262|\\+32|\\+44)[ .-]?[1-9]([ .-]?[0-9]){5,10}[ ]?",
        d in "[0-9]{4}-[01][0-9]-[0-3][0-9][Tt ][0-2][0-9]:[0-5][0-9]:[0-6][0-9](\\.[0-9]{1,9})?([Zz]|[+-][0-2][0-9]:?[0-5][0-9])",
    ) {
        parse_everything(&s)?;
        parse_everything(&d)?;
    }

    #[test]
    fn valid_values_round_trip(
        name in "[A-Z ]{3}",
        licence in "[0-9]{12}|[A-Z0-9]{1,15}[0-9]{4}|[A-Z0-9]{1,15}|99-[^\\n\\r\\u{2028}\\u{2029}]{1,61}",
        key in "[a-f0-9]{64}",
        siret in "[0-9]{14}",
        journey_id in "[!-~]{1,256}",
        geo in "[0-9][0-9AB][0-9]{3}",
    ) {
        for s in [&name, &licence, &key, &siret, &journey_id, &geo] {
            parse_everything(s)?;
        }
        prop_assert_eq!(name.parse::<LastNameTrunc>().map(|v| v.to_string()), Ok(name));
        prop_assert_eq!(licence.parse::<DrivingLicense>().map(|v| v.to_string()), Ok(licence));
        prop_assert_eq!(key.parse::<IdentityKey>().map(|v| v.to_string()), Ok(key));
        prop_assert_eq!(siret.parse::<Siret>().map(|v| v.to_string()), Ok(siret));
        prop_assert_eq!(journey_id.parse::<OperatorJourneyId>().map(|v| v.to_string()), Ok(journey_id));
        prop_assert_eq!(geo.parse::<GeoCode>().map(|v| v.to_string()), Ok(geo));
    }

    #[test]
    fn timestamps_round_trip(ms in Timestamp::MIN.as_millis()..=Timestamp::MAX.as_millis()) {
        let t = Timestamp::from_millis(ms);
        prop_assert!(t.is_some());
        if let Some(t) = t {
            let shown = t.to_string();
            prop_assert_eq!(shown.len(), 24);
            prop_assert_eq!(shown.parse::<Timestamp>().ok(), Some(t));
            prop_assert_eq!(Timestamp::from_chrono(t.to_chrono()), Some(t));
        }
    }

    #[test]
    fn numbers_round_trip(
        lat in -90.0f64..=90.0,
        lon in -180.0f64..=180.0,
        metres in 0u32..=Distance::MAX,
    ) {
        let lat = Latitude::new(lat).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(lat.to_string().parse::<Latitude>().ok(), Some(lat));
        // serde_json (without its `float_roundtrip` feature) may read a float back one ULP
        // off: JSON checks that the value validates and stays within that.
        let json = serde_json::to_string(&lat).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back = serde_json::from_str::<Latitude>(&json).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!((back.get() - lat.get()).abs() <= f64::EPSILON * 90.0, "{} {}", json, back.get());
        let lon = Longitude::new(lon).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(lon.to_string().parse::<Longitude>().ok(), Some(lon));
        let d = Distance::new(metres).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(d.to_string().parse::<Distance>().ok(), Some(d));
    }
}

/// Every `Arbitrary` value is valid: its canonical form parses back to it.
#[cfg(feature = "arbitrary")]
mod arbitrary_values {
    use super::*;
    use arbitrary::{Arbitrary, Unstructured};

    fn check<'a, T>(u: &mut Unstructured<'a>) -> Result<(), TestCaseError>
    where
        T: Arbitrary<'a> + FromStr + Display + PartialEq + std::fmt::Debug,
    {
        if let Ok(v) = T::arbitrary(u) {
            let shown = v.to_string();
            prop_assert_eq!(shown.parse::<T>().ok(), Some(v), "{:?}", shown);
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn arbitrary_values_are_valid(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut u = Unstructured::new(&bytes);
            check::<PhoneTrunc>(&mut u)?;
            check::<Timestamp>(&mut u)?;
            check::<LastNameTrunc>(&mut u)?;
            check::<DrivingLicense>(&mut u)?;
            check::<IdentityKey>(&mut u)?;
            check::<JourneyType>(&mut u)?;
            check::<OperatorClass>(&mut u)?;
            check::<OperatorJourneyId>(&mut u)?;
            check::<JourneyStatus>(&mut u)?;
            check::<Siret>(&mut u)?;
            check::<ApplicationId>(&mut u)?;
            check::<GeoCode>(&mut u)?;
            check::<Distance>(&mut u)?;
            check::<Latitude>(&mut u)?;
            check::<Longitude>(&mut u)?;
            let list = Incentives::arbitrary(&mut u);
            if let Ok(list) = list {
                let json = serde_json::to_string(&list).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(serde_json::from_str::<Incentives>(&json).ok(), Some(list));
            }
        }
    }
}
