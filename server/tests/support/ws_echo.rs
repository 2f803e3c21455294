//! A real WebSocket upstream on loopback (tokio-tungstenite): it sends back every text or binary message
//! it receives, prefixed with `echo: `, and records the upgrade request's headers it saw.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Callback, ErrorResponse, Request, Response};

/// The headers of each upgrade request, lower-case name → value.
pub type Handshakes = Arc<Mutex<Vec<Vec<(String, String)>>>>;

pub async fn start() -> (SocketAddr, Handshakes) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handshakes = Handshakes::default();
    let seen = handshakes.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let seen = seen.clone();
            tokio::spawn(async move {
                let Ok(mut socket) = tokio_tungstenite::accept_hdr_async(stream, Recorder(seen)).await else { return };
                while let Some(Ok(message)) = socket.next().await {
                    let reply = match message {
                        Message::Text(text) => Message::text(format!("echo: {text}")),
                        Message::Binary(data) => Message::binary([b"echo: ".as_slice(), &data].concat()),
                        Message::Close(_) => break,
                        _ => continue,
                    };
                    if socket.send(reply).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (addr, handshakes)
}

/// Records the upgrade request's headers and accepts it.
struct Recorder(Handshakes);

impl Callback for Recorder {
    #[allow(clippy::result_large_err)] // tungstenite's signature
    fn on_request(self, request: &Request, response: Response) -> Result<Response, ErrorResponse> {
        let headers = request
            .headers()
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or_default().to_string()))
            .collect();
        self.0.lock().unwrap().push(headers);
        Ok(response)
    }
}
