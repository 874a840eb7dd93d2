//! The HTTPS client every AWS client uses: hyper's HTTP/1.1 connection pool
//! over rustls with ring. DynamoDB, SES and Secrets Manager answer HTTP/1.1;
//! the SDK's own client also speaks HTTP/2, whose implementation (h2) was
//! about 500 KiB of every function, and offers it to every endpoint.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use hyper_util::client::legacy::connect::HttpConnector as TcpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Why the TLS set-up failed: the trusted roots are a fixed input, so this
/// is a start-up error.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("a trusted root is not a PEM certificate: {0}")]
    Pem(#[from] rustls::pki_types::pem::Error),
    #[error("a trusted root was refused: {0}")]
    Root(#[from] rustls::Error),
    #[error("no trusted root certificates were given")]
    NoRoots,
}

/// The cipher suites the AWS SDKs allow: AES-GCM on TLS 1.3, ECDHE with
/// AES-GCM or ChaCha20-Poly1305 on TLS 1.2.
const CIPHER_SUITES: &[rustls::CipherSuite] = &[
    rustls::CipherSuite::TLS13_AES_256_GCM_SHA384,
    rustls::CipherSuite::TLS13_AES_128_GCM_SHA256,
    rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    rustls::CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
];

/// The connect and read limits a connector was built for.
type Limits = (Option<Duration>, Option<Duration>);

/// An [`HttpClient`] for the AWS SDKs. Plain `http://` endpoints (DynamoDB
/// Local) go over TCP, `https://` ones over TLS trusting only the roots
/// given.
#[derive(Debug)]
pub struct Http1Client {
    tls: Arc<rustls::ClientConfig>,
    /// One pool per set of limits: the SDK asks for a connector on every
    /// attempt, and a pool must live to reuse its connections.
    connectors: Mutex<HashMap<Limits, SharedHttpConnector>>,
}

impl Http1Client {
    /// A client trusting the certificates of `roots_pem` (one or more PEM
    /// blocks).
    pub fn new(roots_pem: &[u8]) -> Result<Self, TlsSetupError> {
        Ok(Self {
            tls: Arc::new(tls_config(roots_pem)?),
            connectors: Mutex::new(HashMap::new()),
        })
    }

    fn connector(&self, limits: Limits) -> Connector {
        let (connect_timeout, read_timeout) = limits;
        let mut tcp = TcpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(connect_timeout);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(rustls::ClientConfig::clone(&self.tls))
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let pool = Client::builder(TokioExecutor::new())
            // The pool's idle timeout needs a timer to run.
            .pool_timer(TokioTimer::new())
            .build(https);
        Connector { pool, read_timeout }
    }
}

fn tls_config(roots_pem: &[u8]) -> Result<rustls::ClientConfig, TlsSetupError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(roots_pem) {
        roots.add(cert?)?;
    }
    if roots.is_empty() {
        return Err(TlsSetupError::NoRoots);
    }
    let ring = rustls::crypto::ring::default_provider();
    let provider = rustls::crypto::CryptoProvider {
        cipher_suites: ring
            .cipher_suites
            .iter()
            .filter(|suite| CIPHER_SUITES.contains(&suite.suite()))
            .copied()
            .collect(),
        ..ring
    };
    Ok(
        rustls::ClientConfig::builder_with_provider(Arc::new(provider))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

impl HttpClient for Http1Client {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.pooled((settings.connect_timeout(), settings.read_timeout()))
    }
}

impl Http1Client {
    fn pooled(&self, limits: Limits) -> SharedHttpConnector {
        let mut connectors = self
            .connectors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        connectors
            .entry(limits)
            .or_insert_with(|| SharedHttpConnector::new(self.connector(limits)))
            .clone()
    }
}

#[derive(Debug, Clone)]
struct Connector {
    pool: Client<hyper_rustls::HttpsConnector<TcpConnector>, SdkBody>,
    /// How long to wait for the response's head once the request is sent.
    read_timeout: Option<Duration>,
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let request = match request.try_into_http1x() {
            Ok(request) => request,
            Err(e) => return HttpConnectorFuture::ready(Err(ConnectorError::user(e.into()))),
        };
        let response = self.pool.request(request);
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let response = match read_timeout {
                Some(limit) => tokio::time::timeout(limit, response)
                    .await
                    .map_err(|elapsed| ConnectorError::timeout(elapsed.into()))?,
                None => response.await,
            }
            .map_err(classify)?;
            HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                .map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// The SDK retries I/O errors and timeouts: a refused or reset connection,
/// a pooled connection the server had closed, a response cut short.
fn classify(error: hyper_util::client::legacy::Error) -> ConnectorError {
    let hyper_error = source::<hyper::Error>(&error);
    if hyper_error.is_some_and(|e| e.is_timeout()) {
        return ConnectorError::timeout(error.into());
    }
    if hyper_error.is_some_and(|e| e.is_user()) {
        return ConnectorError::user(error.into());
    }
    if error.is_connect()
        || source::<std::io::Error>(&error).is_some()
        || hyper_error
            .is_some_and(|e| e.is_closed() || e.is_canceled() || e.is_incomplete_message())
    {
        return ConnectorError::io(error.into());
    }
    ConnectorError::other(error.into(), None)
}

/// The first error of type `E` in `error`'s chain of sources.
fn source<'a, E: std::error::Error + 'static>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a E> {
    let mut next = Some(error);
    while let Some(current) = next {
        if let Some(found) = current.downcast_ref::<E>() {
            return Some(found);
        }
        next = current.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const AMAZON_ROOTS: &[u8] = include_bytes!("../../certs/amazon-trust-services.pem");

    #[test]
    fn trusts_exactly_the_roots_given() {
        let config = tls_config(AMAZON_ROOTS).expect("the Amazon roots");
        // No ALPN: the server picks HTTP/1.1, never HTTP/2.
        assert!(config.alpn_protocols.is_empty());
        let suites: Vec<_> = config
            .crypto_provider()
            .cipher_suites
            .iter()
            .map(|s| s.suite())
            .collect();
        assert_eq!(suites.len(), CIPHER_SUITES.len(), "{suites:?}");

        assert!(matches!(tls_config(b""), Err(TlsSetupError::NoRoots)));
        let garbled = b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n";
        assert!(tls_config(garbled).is_err());
    }

    #[test]
    fn one_pool_per_set_of_limits() {
        let client = Http1Client::new(AMAZON_ROOTS).expect("the Amazon roots");
        let fast = (Some(Duration::from_secs(1)), None);
        let slow = (Some(Duration::from_secs(5)), Some(Duration::from_secs(5)));
        client.pooled(fast);
        client.pooled(fast);
        client.pooled(slow);
        assert_eq!(client.connectors.lock().unwrap().len(), 2);
    }

    /// A connector trusting `roots`, with the functions' limits.
    fn connector(roots: &[u8]) -> SharedHttpConnector {
        let client = Http1Client::new(roots).expect("the roots given");
        client.pooled((Some(Duration::from_secs(1)), Some(Duration::from_secs(1))))
    }

    /// What calling `uri` gives, trusting the Amazon roots.
    async fn call(uri: &str) -> Result<HttpResponse, ConnectorError> {
        connector(AMAZON_ROOTS)
            .call(HttpRequest::get(uri).expect("a request"))
            .await
    }

    /// Reads one request's head from `stream`, answers it `200 ok`, and
    /// returns the head.
    async fn answer<S>(stream: &mut S) -> String
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            stream.read_exact(&mut byte).await.unwrap();
            head.push(byte[0]);
        }
        stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            .await
            .unwrap();
        stream.flush().await.unwrap();
        String::from_utf8(head).unwrap()
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_retryable_io_error() {
        // A port nothing listens on: bind one, then free it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let error = call(&format!("http://127.0.0.1:{port}/"))
            .await
            .expect_err("nothing listens");
        assert!(error.is_io(), "{error:?}");
    }

    #[tokio::test]
    async fn speaks_http_1_1_and_keeps_the_connection() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!("http://{}/", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            // One connection serves both requests.
            let (mut socket, _) = listener.accept().await.unwrap();
            [answer(&mut socket).await, answer(&mut socket).await]
        });
        let connector = connector(AMAZON_ROOTS);
        for _ in 0..2 {
            let response = connector
                .call(HttpRequest::get(&uri).expect("a request"))
                .await
                .expect("an answer");
            assert_eq!(response.status().as_u16(), 200);
            let body = http_body_util::BodyExt::collect(response.into_body())
                .await
                .expect("the body")
                .to_bytes();
            assert_eq!(&body[..], b"ok");
        }
        for head in server.await.unwrap() {
            assert!(head.starts_with("GET / HTTP/1.1\r\n"), "{head}");
        }
    }

    #[tokio::test]
    async fn a_silent_server_is_a_timeout_and_a_failed_handshake_an_io_error() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            // Accepts, never answers, and closes the second connection at once.
            let (_silent, _) = listener.accept().await.unwrap();
            let (closed, _) = listener.accept().await.unwrap();
            drop(closed);
            std::future::pending::<()>().await;
        });
        let error = call(&format!("http://{address}/"))
            .await
            .expect_err("no answer");
        assert!(error.is_timeout(), "{error:?}");
        // TLS to a socket that closes before the handshake.
        let error = call(&format!("https://{address}/"))
            .await
            .expect_err("no handshake");
        assert!(error.is_io(), "{error:?}");
    }

    /// A TLS server on loopback with the test certificate for 127.0.0.1
    /// (shared/certs/test), answering one request; it reports the ALPN
    /// protocol the client offered and what it read.
    async fn tls_server() -> (String, tokio::task::JoinHandle<(Option<Vec<u8>>, String)>) {
        let certs =
            CertificateDer::pem_slice_iter(include_bytes!("../../certs/test/localhost.pem"))
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
        let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(include_bytes!(
            "../../certs/test/localhost.key"
        ))
        .unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!("https://{}/", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            let Ok(mut tls) = acceptor.accept(socket).await else {
                return (None, String::new());
            };
            let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
            (alpn, answer(&mut tls).await)
        });
        (uri, server)
    }

    #[tokio::test]
    async fn speaks_http_1_1_over_tls_to_a_server_its_roots_trust() {
        let (uri, server) = tls_server().await;
        let response = connector(include_bytes!("../../certs/test/ca.pem"))
            .call(HttpRequest::get(&uri).expect("a request"))
            .await
            .expect("an answer over TLS");
        assert_eq!(response.status().as_u16(), 200);
        let (alpn, head) = server.await.unwrap();
        assert_eq!(alpn, None, "no ALPN offer, so never HTTP/2");
        assert!(head.starts_with("GET / HTTP/1.1\r\n"), "{head}");
    }

    #[tokio::test]
    async fn refuses_a_server_its_roots_do_not_trust() {
        let (uri, server) = tls_server().await;
        // The Amazon roots did not sign the test certificate.
        let error = call(&uri).await.expect_err("an untrusted certificate");
        assert!(error.is_io(), "{error:?}");
        let (_, head) = server.await.unwrap();
        assert!(head.is_empty(), "no request was sent: {head}");
    }
}
