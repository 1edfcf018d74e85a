//! The blocking bridges between the async object store and `std::io`: a `Read + Seek` reader
//! over ranged GETs, and a `Write + Seek` writer over a multipart upload.

use std::collections::VecDeque;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path as Key;
use object_store::{GetOptions, GetRange, MultipartId, ObjectStore, PutPayload};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use super::shared::Shared;
use crate::audio::NewObject;

/// Size of an upload part: S3's smallest (every part but the last must be at least this).
pub const PART: usize = 5 << 20;
/// Blocks a reader keeps.
const CACHED: usize = 2;
/// A streaming reader keeps the object's first bytes (where format sniffing seeks about).
const HEAD_CACHE: u64 = 64 << 10;
/// A streaming reader skips forward this far by reading on rather than asking again.
const SKIP: u64 = 1 << 20;

pub(super) fn io_err(e: object_store::Error) -> io::Error {
    match e {
        object_store::Error::NotFound { .. } => io::Error::new(io::ErrorKind::NotFound, e),
        other => io::Error::other(other),
    }
}

/// `Read + Seek` over an object, in one of two ways. Picking (tiles, peaks, clips): ranged
/// GETs of `block` bytes, the last [`CACHED`] blocks kept, and the next block fetched in the
/// background while a reader goes through in order. Streaming (decoding, hashing a whole
/// object): one open-ended GET read as its body arrives, its first [`HEAD_CACHE`] bytes kept
/// for the format sniffers, a new GET only after a seek away; so a whole object costs a few
/// requests, not one per block (servers such as moto answer each ranged GET in time
/// proportional to the whole object).
pub struct ObjectReader {
    streaming: Option<Streaming>,
    shared: Option<Arc<Shared>>,
    store: Arc<dyn ObjectStore>,
    key: Key,
    runtime: Handle,
    len: u64,
    pos: u64,
    block: u64,
    cache: VecDeque<(u64, Bytes)>,
    ahead: Option<(u64, JoinHandle<object_store::Result<Bytes>>)>,
    last: Option<u64>,
}

#[derive(Default)]
struct Streaming {
    head: Option<Bytes>,
    /// The chunk last read from the body, and its offset.
    chunk: Option<(u64, Bytes)>,
    /// The body being read, and the offset of its next byte (in a mutex only to be `Sync`, as
    /// the decoder's sources must; it is never contended).
    body: Option<(u64, Mutex<BoxStream<'static, object_store::Result<Bytes>>>)>,
}

impl ObjectReader {
    /// Opens `key` (one HEAD request for its length, unless `shared` knows it); `streaming` as
    /// described above; a picking reader given `shared` (the key is immutable) reads its
    /// blocks through it.
    pub fn open(
        store: Arc<dyn ObjectStore>,
        key: Key,
        runtime: Handle,
        block: u64,
        streaming: bool,
        shared: Option<Arc<Shared>>,
    ) -> io::Result<Self> {
        let head = || runtime.block_on(store.head(&key)).map(|m| m.size);
        let len = match &shared {
            Some(s) => s.lens.get_or_insert_with(&key, head),
            None => head(),
        }
        .map_err(io_err)?;
        Ok(Self {
            streaming: streaming.then(Streaming::default),
            shared: if streaming { None } else { shared },
            store,
            key,
            runtime,
            len,
            pos: 0,
            block: block.max(4096),
            cache: VecDeque::new(),
            ahead: None,
            last: None,
        })
    }

    /// The object's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the object is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn range(&self, idx: u64) -> std::ops::Range<u64> {
        idx * self.block..((idx + 1) * self.block).min(self.len)
    }

    fn fetch(&self, idx: u64) -> JoinHandle<object_store::Result<Bytes>> {
        let (store, key, range) = (self.store.clone(), self.key.clone(), self.range(idx));
        self.runtime
            .spawn(async move { store.get_range(&key, range).await })
    }

    fn get_block(&mut self, idx: u64) -> io::Result<Bytes> {
        if let Some((_, b)) = self.cache.iter().find(|(i, _)| *i == idx) {
            return Ok(b.clone());
        }
        if let Some(shared) = self.shared.clone() {
            let id = (self.key.clone(), self.block, idx);
            let bytes = shared
                .blocks
                .get_or_insert_with(&id, || self.get_block_now(idx))?;
            self.last = Some(idx);
            return Ok(bytes);
        }
        self.get_block_now(idx)
    }

    /// A block from the bucket (or the read-ahead already under way), kept among the last few.
    fn get_block_now(&mut self, idx: u64) -> io::Result<Bytes> {
        let pending = match self.ahead.take() {
            Some((i, h)) if i == idx => h,
            Some((_, h)) => {
                h.abort();
                self.fetch(idx)
            }
            None => self.fetch(idx),
        };
        let bytes = self
            .runtime
            .block_on(pending)
            .map_err(io::Error::other)?
            .map_err(io_err)?;
        if self.cache.len() == CACHED {
            self.cache.pop_front();
        }
        self.cache.push_back((idx, bytes.clone()));
        // No read-ahead through the shared blocks: another reader may be fetching it already.
        let sequential = idx == 0 || self.last == Some(idx - 1);
        if sequential && self.shared.is_none() && (idx + 1) * self.block < self.len {
            self.ahead = Some((idx + 1, self.fetch(idx + 1)));
        }
        self.last = Some(idx);
        Ok(bytes)
    }
}

impl ObjectReader {
    /// The streamed bytes at `self.pos`: a chunk that holds them and its offset.
    fn streamed(&mut self) -> io::Result<(u64, Bytes)> {
        let pos = self.pos;
        let Some(st) = self.streaming.as_mut() else {
            return Err(io::Error::other("not a streaming reader"));
        };
        if pos < HEAD_CACHE {
            if st.head.is_none() {
                let range = 0..HEAD_CACHE.min(self.len);
                let head = self
                    .runtime
                    .block_on(self.store.get_range(&self.key, range))
                    .map_err(io_err)?;
                st.head = Some(head);
            }
            if let Some(h) = &st.head
                && pos < h.len() as u64
            {
                return Ok((0, h.clone()));
            }
        }
        if let Some((at, c)) = &st.chunk
            && (*at..*at + c.len() as u64).contains(&pos)
        {
            return Ok((*at, c.clone()));
        }
        loop {
            match &mut st.body {
                Some((next, body)) if *next <= pos && pos - *next <= SKIP => {
                    let body = body
                        .get_mut()
                        .map_err(|_| io::Error::other("a reader panicked"))?;
                    let got = self.runtime.block_on(body.next());
                    let chunk = match got {
                        Some(Ok(c)) => c,
                        Some(Err(e)) => return Err(io_err(e)),
                        None => {
                            return Err(io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                "the object is shorter than it said",
                            ));
                        }
                    };
                    let at = *next;
                    *next += chunk.len() as u64;
                    if (at..*next).contains(&pos) {
                        st.chunk = Some((at, chunk.clone()));
                        return Ok((at, chunk));
                    }
                }
                _ => {
                    let opts = GetOptions {
                        range: Some(GetRange::Offset(pos)),
                        ..Default::default()
                    };
                    let got = self
                        .runtime
                        .block_on(self.store.get_opts(&self.key, opts))
                        .map_err(io_err)?;
                    st.body = Some((pos, Mutex::new(got.into_stream())));
                }
            }
        }
    }
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len || buf.is_empty() {
            return Ok(0);
        }
        if self.streaming.is_some() {
            let (at, data) = self.streamed()?;
            let off = (self.pos - at) as usize;
            let n = buf.len().min(data.len() - off);
            buf[..n].copy_from_slice(&data[off..off + n]);
            self.pos += n as u64;
            return Ok(n);
        }
        let idx = self.pos / self.block;
        let data = self.get_block(idx)?;
        let off = (self.pos - idx * self.block) as usize;
        let n = buf.len().min(data.len().saturating_sub(off));
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the object is shorter than it said",
            ));
        }
        buf[..n].copy_from_slice(&data[off..off + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for ObjectReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}

impl Drop for ObjectReader {
    fn drop(&mut self) {
        if let Some((_, h)) = self.ahead.take() {
            h.abort();
        }
    }
}

/// `Write + Seek` into a new object through a multipart upload whose parts we number: the
/// first [`PART`] bytes are held until [`commit`](NewObject::commit) (so a header in them can
/// still be patched, which is all the seeking the WAV and peaks writers do) and sent last as
/// part 1; the rest goes out in parts as it fills, one in flight. An object smaller than two
/// parts is one PUT. Dropped uncommitted, the upload is aborted: no object, no parts left.
pub struct S3Object {
    multipart: Arc<dyn MultipartStore>,
    objects: Arc<dyn ObjectStore>,
    key: Key,
    runtime: Handle,
    head: Vec<u8>,
    tail: Vec<u8>,
    pos: u64,
    len: u64,
    upload: Option<MultipartId>,
    parts: Vec<PartId>,
    pending: Option<JoinHandle<object_store::Result<PartId>>>,
    done: bool,
}

impl S3Object {
    /// A writer of `key`; nothing is sent until a part fills.
    pub fn new(
        multipart: Arc<dyn MultipartStore>,
        objects: Arc<dyn ObjectStore>,
        key: Key,
        runtime: Handle,
    ) -> Self {
        Self {
            multipart,
            objects,
            key,
            runtime,
            head: Vec::new(),
            tail: Vec::new(),
            pos: 0,
            len: 0,
            upload: None,
            parts: Vec::new(),
            pending: None,
            done: false,
        }
    }

    fn wait_pending(&mut self) -> io::Result<()> {
        if let Some(h) = self.pending.take() {
            let part = self
                .runtime
                .block_on(h)
                .map_err(io::Error::other)?
                .map_err(io_err)?;
            self.parts.push(part);
        }
        Ok(())
    }

    /// Sends the tail as the next part (part numbers from 2: part 1 is the head).
    fn send_tail(&mut self) -> io::Result<()> {
        let id = match &self.upload {
            Some(id) => id.clone(),
            None => {
                let id = self
                    .runtime
                    .block_on(self.multipart.create_multipart(&self.key))
                    .map_err(io_err)?;
                self.upload = Some(id.clone());
                id
            }
        };
        self.wait_pending()?;
        let data = std::mem::replace(&mut self.tail, Vec::with_capacity(PART + (256 << 10)));
        let idx = self.parts.len() + 1;
        let (mp, key) = (self.multipart.clone(), self.key.clone());
        self.pending = Some(
            self.runtime
                .spawn(async move { mp.put_part(&key, &id, idx, PutPayload::from(data)).await }),
        );
        Ok(())
    }
}

impl Write for S3Object {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let p = self.pos as usize;
        if p < PART {
            if p > self.head.len() {
                return Err(io::Error::other("a write past the end leaves a hole"));
            }
            let n = buf.len().min(PART - p);
            let overlap = (self.head.len() - p).min(n);
            self.head[p..p + overlap].copy_from_slice(&buf[..overlap]);
            self.head.extend_from_slice(&buf[overlap..n]);
            self.pos += n as u64;
            self.len = self.len.max(self.pos);
            return Ok(n);
        }
        if self.pos != self.len {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "an object being uploaded can only be rewritten in its first part",
            ));
        }
        self.tail.extend_from_slice(buf);
        self.pos += buf.len() as u64;
        self.len = self.pos;
        if self.tail.len() >= PART {
            self.send_tail()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for S3Object {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        match target {
            Some(t) if t <= self.head.len() as u64 || t == self.len => {
                self.pos = t;
                Ok(t)
            }
            _ => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "an object being uploaded can only seek within its first part or to its end",
            )),
        }
    }
}

impl NewObject for S3Object {
    fn commit(mut self: Box<Self>) -> io::Result<()> {
        self.done = true;
        if self.upload.is_none() {
            let mut whole = std::mem::take(&mut self.head);
            whole.append(&mut self.tail);
            let (objects, key) = (self.objects.clone(), self.key.clone());
            self.runtime
                .block_on(objects.put(&key, PutPayload::from(whole)))
                .map_err(io_err)?;
            return Ok(());
        }
        let committed = (|| {
            if !self.tail.is_empty() {
                self.send_tail()?;
            }
            self.wait_pending()?;
            let id = self.upload.clone().unwrap_or_default();
            let head = std::mem::take(&mut self.head);
            let first = self
                .runtime
                .block_on(
                    self.multipart
                        .put_part(&self.key, &id, 0, PutPayload::from(head)),
                )
                .map_err(io_err)?;
            let mut parts = vec![first];
            parts.append(&mut self.parts);
            self.runtime
                .block_on(self.multipart.complete_multipart(&self.key, &id, parts))
                .map_err(io_err)?;
            Ok(())
        })();
        if committed.is_err() {
            self.done = false; // Drop aborts the upload.
        }
        committed
    }
}

impl Drop for S3Object {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if let Some(h) = self.pending.take() {
            h.abort();
        }
        if let Some(id) = self.upload.take() {
            let (mp, key) = (self.multipart.clone(), self.key.clone());
            if let Err(e) = self
                .runtime
                .block_on(async move { mp.abort_multipart(&key, &id).await })
            {
                tracing::warn!("aborting the upload of {}: {e}", self.key);
            }
        }
    }
}
