//! `cee demo` on a small population: succeeds and shows every outcome.

use std::process::Command;

#[test]
fn demo_shows_every_outcome() {
    let out = Command::new(env!("CARGO_BIN_EXE_cee"))
        .args([
            "demo",
            "--people",
            "2000",
            "--lookups",
            "2000",
            "--registrations",
            "5",
        ])
        .output()
        .expect("run cee demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    for expected in [
        "imported 2000 rows, 0 failed",
        "0. The policy in force",
        "operations 2026-01-01T00:00:00+01:00 .. 2027-01-01T00:00:00+01:00",
        "REFUSED (400) \"Date should be between the start and end of the operation",
        "the 5000 standardized applications it made at the",
        "; 0 failed,",
        "b') Past standardized applications",
        "#2 find            uuid",
        "simulate short     ELIGIBLE",
        "register short     REGISTERED uuid",
        "verifies with engine.verify: true",
        "was imported with a short operation on",
        "was imported with a long operation on",
        "#1 simulate long   BLOCKED",
        "#1 register long   REFUSED (409) already benefited",
        "REFUSED (404) not eligible: operator class is not eligible",
        "REFUSED (404) not eligible: journey is too long",
        "REFUSED (404) not eligible: journey neither starts nor ends in France",
        "REFUSED (400) \"Date should be before 7 days from now\"",
        "after ManualClock::advance(5 days)",
        "are in the audit journal (",
        "p50",
        "p99.9",
        "registrations/s",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    assert!(
        !stdout.contains("!!"),
        "a scenario did not turn out as announced:\n{stdout}"
    );
    assert!(!stdout.contains("SOME SCENARIOS"), "{stdout}");
}
