//! A minimal HTTP/1.0 client for servers the tests start on the loopback interface, so native
//! tests can reach a real identity provider without an HTTP crate or an async runtime.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use edge_identity::platform::{HttpClient, HttpError, LocalFuture};

pub struct LoopbackHttp;

fn exchange(
    request: http::Request<Vec<u8>>,
    timeout: Duration,
) -> Result<http::Response<Vec<u8>>, HttpError> {
    let bad = |why: &str| HttpError::Transport(why.to_owned());
    let uri = request.uri().clone();
    if uri.scheme_str() != Some("http") || !matches!(uri.host(), Some("127.0.0.1" | "localhost")) {
        return Err(bad("the loopback client only reaches http://127.0.0.1"));
    }
    let host = uri.host().unwrap_or("127.0.0.1");
    let port = uri.port_u16().unwrap_or(80);
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(|e| bad(&e.to_string()))?
        .next()
        .ok_or_else(|| bad("no address"))?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| bad(&e.to_string()))?;
    stream.set_read_timeout(Some(timeout)).ok();
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut head = format!(
        "{} {path} HTTP/1.0\r\nHost: {host}:{port}\r\nConnection: close\r\n",
        request.method()
    );
    for (name, value) in request.headers() {
        head.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap_or("")));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", request.body().len()));
    stream
        .write_all(head.as_bytes())
        .and_then(|_| stream.write_all(request.body()))
        .map_err(|e| bad(&e.to_string()))?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => HttpError::Timeout,
        _ => bad(&e.to_string()),
    })?;
    let split =
        raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| bad("no header end"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status line"))?;
    let mut builder = http::Response::builder().status(status);
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            builder = builder.header(name.trim(), value.trim());
        }
    }
    builder.body(raw[split + 4..].to_vec()).map_err(|e| bad(&e.to_string()))
}

impl HttpClient for LoopbackHttp {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        timeout: Duration,
    ) -> LocalFuture<'_, Result<http::Response<Vec<u8>>, HttpError>> {
        Box::pin(async move { exchange(request, timeout) })
    }
}
