//! A raw HTTP/1 client: writes exactly the bytes a test gives it, for requests no well-behaved client sends
//! (smuggling attempts, stalled request lines, oversize heads).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What came back on one connection.
#[derive(Debug)]
pub struct Exchange {
    pub bytes: Vec<u8>,
    /// The gateway closed (or reset) the connection before the deadline.
    pub closed: bool,
}

impl Exchange {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// The status codes of every response on the connection, in order.
    pub fn statuses(&self) -> Vec<u16> {
        let text = self.text();
        let mut statuses = Vec::new();
        for (at, _) in text.match_indices("HTTP/1.") {
            let line_start = at == 0 || text[..at].ends_with('\n');
            let status = text.get(at + 9..at + 12).and_then(|s| s.parse().ok());
            if let (true, Some(status)) = (line_start, status) {
                statuses.push(status);
            }
        }
        statuses
    }
}

/// Sends `request` and reads until the gateway closes the connection or `deadline` passes.
pub async fn exchange(addr: SocketAddr, request: &[u8], deadline: Duration) -> Exchange {
    let mut stream = TcpStream::connect(addr).await.expect("connect to the gateway");
    stream.write_all(request).await.expect("write the request");
    read_until_closed(&mut stream, deadline).await
}

/// Reads until EOF, a reset, or `deadline`.
pub async fn read_until_closed(stream: &mut TcpStream, deadline: Duration) -> Exchange {
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    let read_all = async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => bytes.extend_from_slice(&buffer[..n]),
            }
        }
    };
    let closed = tokio::time::timeout(deadline, read_all).await.is_ok();
    Exchange { bytes, closed }
}
