//! Routing: from a method and a raw request path to a [`Route`].
//!
//! The path is taken as the host received it (not percent-decoded): a query string is dropped,
//! an API version prefix (`/v3`, `/v3.3`) is stripped, a single trailing slash is ignored. The
//! variable segments (`{uuid}`, `{operator_journey_id}`) are percent-decoded later, by their
//! handlers; a segment that does not decode is a bad parameter of that route, not another path.

/// The façade's routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Route<'a> {
    /// `POST /policies/cee/import`
    Import,
    /// `POST /policies/cee/import/identity`
    ImportIdentity,
    /// `POST /policies/cee/import/standardized`
    ImportStandardized,
    /// `POST /policies/cee/simulate`
    Simulate,
    /// `POST /policies/cee`
    Register,
    /// `GET /policies/cee/{uuid}` (raw segment)
    Find(&'a str),
    /// `DELETE /policies/cee/{uuid}` (raw segment)
    Delete(&'a str),
    /// `POST /journeys`
    CreateJourney,
    /// `PATCH /journeys/{operator_journey_id}` (raw segment)
    PatchJourney(&'a str),
    /// `GET /journeys/{operator_journey_id}` (raw segment)
    JourneyStatus(&'a str),
    /// `POST /journeys/{operator_journey_id}/cancel` (raw segment)
    CancelJourney(&'a str),
}

/// Why no route matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NoRoute {
    /// No such path (404).
    UnknownPath,
    /// The path exists with other methods (405); the allowed ones.
    MethodNotAllowed(&'static str),
}

/// Strips the query string, a version prefix and one trailing slash.
fn normalise(path: &str) -> &str {
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    let path = strip_version(path);
    match path.strip_suffix('/') {
        Some(p) if !p.is_empty() => p,
        _ => path,
    }
}

/// `/v<digits>(.<digits>)?` followed by `/` or the end is removed.
fn strip_version(path: &str) -> &str {
    let Some(rest) = path.strip_prefix("/v") else {
        return path;
    };
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let major = digits(rest);
    if major == 0 {
        return path;
    }
    let mut rest = &rest[major..];
    if let Some(minor) = rest.strip_prefix('.') {
        let n = digits(minor);
        if n == 0 {
            return path;
        }
        rest = &minor[n..];
    }
    if rest.is_empty() || rest.starts_with('/') {
        rest
    } else {
        path
    }
}

/// Finds the route of `method` on `path`.
pub(super) fn route<'a>(method: &str, path: &'a str) -> Result<Route<'a>, NoRoute> {
    let path = normalise(path);
    let Some(rest) = path.strip_prefix('/') else {
        return Err(NoRoute::UnknownPath);
    };
    let segments: Vec<&str> = rest.split('/').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(NoRoute::UnknownPath);
    }
    let post = |r: Route<'a>| match method {
        "POST" => Ok(r),
        _ => Err(NoRoute::MethodNotAllowed("POST")),
    };
    match segments.as_slice() {
        ["policies", "cee"] => post(Route::Register),
        ["policies", "cee", "import"] => post(Route::Import),
        ["policies", "cee", "import", "identity"] => post(Route::ImportIdentity),
        ["policies", "cee", "import", "standardized"] => post(Route::ImportStandardized),
        ["policies", "cee", "simulate"] => post(Route::Simulate),
        ["policies", "cee", uuid] => match method {
            "GET" => Ok(Route::Find(uuid)),
            "DELETE" => Ok(Route::Delete(uuid)),
            _ => Err(NoRoute::MethodNotAllowed("GET, DELETE")),
        },
        ["journeys"] => post(Route::CreateJourney),
        ["journeys", id] => match method {
            "GET" => Ok(Route::JourneyStatus(id)),
            "PATCH" => Ok(Route::PatchJourney(id)),
            _ => Err(NoRoute::MethodNotAllowed("GET, PATCH")),
        },
        ["journeys", id, "cancel"] => post(Route::CancelJourney(id)),
        _ => Err(NoRoute::UnknownPath),
    }
}

/// Percent-decodes a path segment; `None` for a malformed escape or bytes that are not UTF-8.
pub(super) fn percent_decode(segment: &str) -> Option<String> {
    if !segment.contains('%') {
        return Some(segment.to_owned());
    }
    let b = segment.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = |c: u8| char::from(c).to_digit(16);
            let hi = b.get(i + 1).copied().and_then(hex)?;
            let lo = b.get(i + 2).copied().and_then(hex)?;
            out.push(u8::try_from(hi * 16 + lo).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_queries_and_slashes() {
        for p in [
            "/policies/cee",
            "/v3/policies/cee",
            "/v3.3/policies/cee",
            "/v12.04/policies/cee/",
            "/policies/cee?x=1",
            "/v3/policies/cee/?a/b",
        ] {
            assert_eq!(route("POST", p), Ok(Route::Register), "{p}");
        }
        for p in [
            "/v/policies/cee",
            "/v3./policies/cee",
            "/v3x/policies/cee",
            "/V3/policies/cee",
            "policies/cee",
            "/policies//cee",
            "/",
            "",
            "/v3",
            "/policies/cee/a/b",
        ] {
            assert_eq!(route("POST", p), Err(NoRoute::UnknownPath), "{p}");
        }
    }

    #[test]
    fn methods() {
        assert_eq!(route("GET", "/policies/cee/x"), Ok(Route::Find("x")));
        assert_eq!(route("DELETE", "/policies/cee/x"), Ok(Route::Delete("x")));
        assert_eq!(
            route("POST", "/policies/cee/x"),
            Err(NoRoute::MethodNotAllowed("GET, DELETE"))
        );
        assert_eq!(
            route("GET", "/policies/cee/import"),
            Err(NoRoute::MethodNotAllowed("POST"))
        );
        assert_eq!(
            route("post", "/journeys"),
            Err(NoRoute::MethodNotAllowed("POST"))
        );
        assert_eq!(
            route("PATCH", "/journeys/a%2Fb"),
            Ok(Route::PatchJourney("a%2Fb"))
        );
        assert_eq!(
            route("GET", "/v3/journeys/j1"),
            Ok(Route::JourneyStatus("j1"))
        );
        assert_eq!(
            route("DELETE", "/journeys/j1"),
            Err(NoRoute::MethodNotAllowed("GET, PATCH"))
        );
        assert_eq!(
            route("POST", "/v3/journeys/j1/cancel"),
            Ok(Route::CancelJourney("j1"))
        );
        assert_eq!(
            route("GET", "/journeys/j1/cancel"),
            Err(NoRoute::MethodNotAllowed("POST"))
        );
        assert_eq!(route("POST", "/journeys/j1/x"), Err(NoRoute::UnknownPath));
    }

    #[test]
    fn percent() {
        assert_eq!(percent_decode("a%2Fb%3f").as_deref(), Some("a/b?"));
        assert_eq!(percent_decode("%C3%A9").as_deref(), Some("é"));
        for bad in ["%", "%2", "%zz", "%FF", "a%C3"] {
            assert_eq!(percent_decode(bad), None, "{bad}");
        }
    }
}
