//! Upstreams that misbehave on purpose, written on raw sockets so each fault is exact: one that never
//! answers, one that resets in the middle of a body, one that trickles its body, one that never reads,
//! and a listener whose accept queue is full (connects to it hang).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;

/// A running faulty upstream; dropping it stops it and closes its connections.
pub struct Faulty {
    pub addr: SocketAddr,
    /// Connections accepted so far.
    pub accepted: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Faulty {
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Faulty {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves every connection with `behave` until dropped.
async fn spawn<F, Fut>(behave: F) -> Faulty
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    let task = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            counter.fetch_add(1, Ordering::SeqCst);
            connections.spawn(behave(stream));
            while connections.try_join_next().is_some() {}
        }
    });
    Faulty { addr, accepted, task }
}

/// Reads until the end of a request head; false when the peer went away first.
async fn read_head(stream: &mut TcpStream) -> bool {
    let mut head = Vec::new();
    let mut buffer = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => head.extend_from_slice(&buffer[..n]),
        }
    }
    true
}

/// Reads everything and never answers; the connection stays open until the gateway closes it.
pub async fn silent() -> Faulty {
    spawn(|mut stream| async move {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = stream.read(&mut buffer).await {
            if n == 0 {
                return;
            }
        }
    })
    .await
}

/// Answers `200` with a `Content-Length` of 1 MiB, sends 1 KiB of it, then resets the connection.
pub async fn resets_mid_body() -> Faulty {
    spawn(|mut stream| async move {
        if !read_head(&mut stream).await {
            return;
        }
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1048576\r\n\r\n";
        let _ = stream.write_all(head.as_bytes()).await;
        let _ = stream.write_all(&[b'x'; 1024]).await;
        let _ = stream.flush().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        // SO_LINGER 0: closing sends a RST instead of a FIN.
        let _ = stream.set_zero_linger();
        drop(stream);
    })
    .await
}

/// Answers with a chunked body of `chunks` chunks, `gap` apart, on every request of the connection.
pub async fn trickling(chunks: usize, gap: Duration) -> Faulty {
    spawn(move |mut stream| async move {
        while read_head(&mut stream).await {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n";
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            for _ in 0..chunks {
                tokio::time::sleep(gap).await;
                if stream.write_all(b"5\r\nchunk\r\n").await.is_err() {
                    return;
                }
            }
            if stream.write_all(b"0\r\n\r\n").await.is_err() {
                return;
            }
        }
    })
    .await
}

/// Accepts connections and never reads from them: a request body larger than the socket buffers blocks.
pub async fn never_reads() -> Faulty {
    spawn(|stream| async move {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        drop(stream);
    })
    .await
}

/// A listener that never accepts, with its accept queue filled: further connects get no SYN-ACK and hang
/// (what a non-routable address does where the network allows it).
pub struct Unanswered {
    pub addr: SocketAddr,
    _listener: TcpListener,
    _queued: Vec<TcpStream>,
}

pub async fn unanswered() -> Unanswered {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut queued = Vec::new();
    // The queue of a backlog-0 listener holds one or two connections; later SYNs are dropped.
    while queued.len() < 8 {
        match tokio::time::timeout(Duration::from_millis(300), TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => queued.push(stream),
            _ => break,
        }
    }
    Unanswered { addr, _listener: listener, _queued: queued }
}

/// Answers the n-th request of each connection (from 0) with `answers[n]` (raw bytes, head and body), then
/// closes the connection once its answers run out — without saying so, as an upstream whose keep-alive
/// timeout fires does.
pub async fn scripted(answers: &'static [&'static str]) -> Faulty {
    spawn(move |mut stream| async move {
        for answer in answers {
            if !read_head(&mut stream).await {
                return;
            }
            if stream.write_all(answer.as_bytes()).await.is_err() {
                return;
            }
        }
    })
    .await
}
