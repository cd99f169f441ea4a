//! A tiny HTTP/1.1 server on 127.0.0.1 for the binary's tests: websites to
//! inspect and notification robots to receive, one thread per test server,
//! running until the test process ends.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};

/// One request as a test server sees it.
pub struct Request {
    /// `GET`, `HEAD`, `POST`.
    pub method: String,
    /// The target with its query, e.g. `/cgi-bin/webhook/send?key=K`.
    pub target: String,
    pub body: Vec<u8>,
}

/// What a test server answers.
pub struct Reply {
    /// e.g. `200 OK`.
    pub status: &'static str,
    pub content_type: &'static str,
    pub body: String,
}

impl Reply {
    pub fn html(status: &'static str, body: impl Into<String>) -> Reply {
        Reply {
            status,
            content_type: "text/html; charset=utf-8",
            body: body.into(),
        }
    }

    pub fn json(body: impl Into<String>) -> Reply {
        Reply {
            status: "200 OK",
            content_type: "application/json",
            body: body.into(),
        }
    }
}

/// Serve `answer` on a free port of 127.0.0.1, one connection at a time,
/// each closed after its answer (a HEAD request gets the head only).
pub fn serve(answer: impl Fn(&Request) -> Reply + Send + 'static) -> SocketAddr {
    serve_on("127.0.0.1:0".parse().unwrap(), answer)
}

/// [`serve`] on `addr` (port 0: a free one).
pub fn serve_on(
    addr: SocketAddr,
    answer: impl Fn(&Request) -> Reply + Send + 'static,
) -> SocketAddr {
    let listener = TcpListener::bind(addr).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let Some(request) = read_request(&mut stream) else {
                continue;
            };
            let reply = answer(&request);
            let _ = write!(
                stream,
                "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                reply.status,
                reply.content_type,
                reply.body.len()
            );
            if request.method != "HEAD" {
                let _ = stream.write_all(reply.body.as_bytes());
            }
        }
    });
    addr
}

fn read_request(stream: &mut std::net::TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next().unwrap_or("/").to_string();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    Some(Request {
        method,
        target,
        body,
    })
}
