//! The process's TLS certificate verifier, loaded on first use.
//!
//! Mental model: rustls-platform-verifier reads the system's root certificates (on Linux a few
//! hundred files under /etc/ssl) the moment its verifier is built, which is when an HTTP client is
//! built, even for a backend on plain `http://` that never opens a TLS connection: that was most of
//! a short `conclave run`'s CPU. [`LazyPlatformVerifier`] stands in for it: the signature checks
//! and the list of supported schemes need only the crypto provider, and the platform verifier (the
//! root store) is built the first time a server certificate is verified, i.e. on the first https
//! handshake, once per process. Verification itself is the platform verifier's, unchanged; a
//! system without root certificates now fails that first handshake (with the same rustls error)
//! instead of the client's construction.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_platform_verifier::Verifier;

/// The platform verifier, built on the first certificate it is asked to verify.
#[derive(Debug)]
pub struct LazyPlatformVerifier {
    provider: Arc<CryptoProvider>,
    inner: OnceLock<Result<Verifier, rustls::Error>>,
}

impl LazyPlatformVerifier {
    /// A verifier over `provider` whose root store is not loaded yet.
    pub fn new(provider: Arc<CryptoProvider>) -> Self {
        LazyPlatformVerifier {
            provider,
            inner: OnceLock::new(),
        }
    }

    /// Whether the root store has been loaded (the first https handshake happened).
    pub fn is_loaded(&self) -> bool {
        self.inner.get().is_some()
    }

    fn platform(&self) -> Result<&Verifier, rustls::Error> {
        self.inner
            .get_or_init(|| Verifier::new(self.provider.clone()))
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl ServerCertVerifier for LazyPlatformVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.platform()?.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A client configuration on the lazy platform verifier, with `provider` for the crypto.
pub fn client_config(
    provider: Arc<CryptoProvider>,
) -> Result<(rustls::ClientConfig, Arc<LazyPlatformVerifier>), rustls::Error> {
    let verifier = Arc::new(LazyPlatformVerifier::new(provider.clone()));
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    Ok((config, verifier))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_are_not_read_until_a_certificate_is_verified() {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let (config, verifier) = client_config(provider).unwrap();
        assert!(!verifier.is_loaded(), "building the config reads no roots");
        assert!(!verifier.supported_verify_schemes().is_empty());
        assert!(!verifier.is_loaded(), "the scheme list needs no roots");
        assert!(config.alpn_protocols.is_empty());
        // A certificate that is not one: the platform verifier is built, then refuses it.
        let refused = verifier.verify_server_cert(
            &CertificateDer::from(vec![0u8; 8]),
            &[],
            &ServerName::try_from("example.com").unwrap(),
            &[],
            UnixTime::now(),
        );
        assert!(refused.is_err());
        assert!(verifier.is_loaded(), "the first verification loads them");
    }
}
