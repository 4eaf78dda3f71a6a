//! HTTPS with a test CA made on the fly (rcgen), through a real HTTPS client (ureq + rustls).

use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use serde_json::json;

use crate::common::*;

#[test]
fn tls_round_trip() -> R {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key)?;
    let key = KeyPair::generate()?;
    let params = CertificateParams::new(vec!["localhost".to_owned()])?;
    let cert = params.signed_by(&key, &ca, &ca_key)?;

    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("tokens.json"), tokens_json().to_string())?;
    std::fs::write(dir.path().join("cert.pem"), cert.pem())?;
    std::fs::write(dir.path().join("key.pem"), key.serialize_pem())?;
    let server = Server::start_in(
        dir,
        &["--create", "--tls-cert", "cert.pem", "--tls-key", "key.pem"],
        &[],
        &[],
    )?;
    let log = server.wait_log("https://", Duration::from_secs(1))?;
    assert!(log.contains("\"tls\":true"), "{log}");

    let root = ureq::tls::Certificate::from_der(ca.der()).to_owned();
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![root])))
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let url = format!(
        "https://localhost:{}/policies/cee/simulate",
        server.addr.port()
    );
    let mut resp = agent
        .post(&url)
        .header("Authorization", format!("Bearer {OP1}"))
        .header("Content-Type", "application/json")
        .send(
            json!({"journey_type": "long", "phone_trunc": "+336273488", "last_name_trunc": "ABC"})
                .to_string()
                .as_bytes(),
        )?;
    assert_eq!(resp.status().as_u16(), 200);
    let _ = resp.body_mut().read_to_string();
    let mut resp = agent
        .get(format!("https://localhost:{}/health", server.addr.port()))
        .call()?;
    assert_eq!(resp.body_mut().read_to_string()?, r#"{"status":"ok"}"#);

    // Plain HTTP on the TLS port gets nothing useful.
    let r = server.call(None, "GET", "/health", None);
    assert_ne!(r.status, 200);
    Ok(())
}
