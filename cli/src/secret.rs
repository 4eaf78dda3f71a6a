//! Where the database secret comes from: `CEE_SECRET` or `--secret-file`, never an argument
//! (arguments are visible to every user of the machine in `ps`).

use std::path::Path;

/// The environment variable holding the secret (64 hex characters).
pub const ENV: &str = "CEE_SECRET";

/// Loads the 32-byte secret from `--secret-file` when given, else from `CEE_SECRET`.
///
/// # Errors
/// A readable message when neither is set or the value is not 64 hex characters. The value
/// itself is never echoed.
pub fn load(secret_file: Option<&Path>) -> Result<[u8; 32], String> {
    match secret_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the secret file {}: {e}", path.display()))?;
            parse_hex(text.trim()).map_err(|why| {
                format!(
                    "the secret file {} must hold 64 hex characters (32 bytes): {why}",
                    path.display()
                )
            })
        }
        None => match std::env::var(ENV) {
            Ok(v) => parse_hex(v.trim())
                .map_err(|why| format!("{ENV} must be 64 hex characters (32 bytes): {why}")),
            Err(std::env::VarError::NotPresent) => Err(format!(
                "no secret: set {ENV} to 64 hex characters, or pass --secret-file PATH \
                 (e.g. `openssl rand -hex 32 > secret && chmod 600 secret`)"
            )),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(format!("{ENV} must be 64 hex characters (32 bytes)"))
            }
        },
    }
}

/// Decodes 64 hex characters (either case).
pub fn parse_hex(s: &str) -> Result<[u8; 32], String> {
    if s.len() != 64 {
        return Err(format!("found {} characters", s.chars().count()));
    }
    let mut out = [0u8; 32];
    for (i, pair) in s.as_bytes().chunks(2).enumerate() {
        let hi = hex_digit(pair[0]).ok_or("found a non-hex character")?;
        let lo = hex_digit(pair[1]).ok_or("found a non-hex character")?;
        out[i] = hi << 4 | lo;
    }
    Ok(out)
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Lowercase hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_errors() {
        let bytes: Vec<u8> = (0..32).collect();
        let hex = to_hex(&bytes);
        assert_eq!(parse_hex(&hex).map(|b| b.to_vec()), Ok(bytes));
        assert_eq!(parse_hex(&hex.to_uppercase()).map(|b| b[31]), Ok(31));
        assert!(parse_hex("abc").is_err());
        assert!(parse_hex(&"g".repeat(64)).is_err());
        assert!(parse_hex(&"é".repeat(32)).is_err());
    }
}
