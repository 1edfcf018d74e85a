//! The object store: every stored object (originals, analysis copies, peaks, pitch tracks,
//! metadata) behind one interface, on a local folder or an S3-compatible bucket.
//!
//! Owns the `--store` URL (`file:///path`, default the data directory's `store/`, or
//! `s3://bucket/prefix` with the standard `AWS_*` variables), the bridge from the async
//! [`object_store`] crate to the `std::io` traits the pure core works on
//! ([`crate::audio::Objects`]), streamed uploads, and ranged HTTP answers. It does not own the
//! layout of keys: that is [`crate::audio::ingest`]'s.
//!
//! Decisions worth knowing:
//! - Reads are ranged GETs in blocks with a small cache and one block of read-ahead
//!   ([`io::ObjectReader`]); the decoder, the peaks reader and the WAV readers see `Read + Seek`.
//! - Writes of the analysis copy and the peaks are S3 multipart uploads whose first part is
//!   held in memory until the end ([`io::S3Object`]), because both formats patch their header
//!   once the length is known. So memory is two or three 5 MiB parts per object being written,
//!   whatever the recording's length, and nothing is staged on local disk but the scratch
//!   files [`crate::audio::Objects::scratch`] names (a few percent of the audio).
//! - On the local folder the same trait is the folder itself ([`crate::audio::Store`]): files
//!   written under `tmp/` and renamed, so existing data directories keep working unchanged.
//! - Every object written is either committed under its content-addressed key or removed: an
//!   unfinished multipart upload is aborted when its writer is dropped.
//!
//! Call the synchronous methods (the [`crate::audio::Objects`] impl, [`Store::reader`]) from a
//! blocking thread (`spawn_blocking`), never from async code: they wait on the runtime.

pub mod io;
mod serve;
pub mod shared;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use axum::body::Bytes;
use futures_util::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::local::LocalFileSystem;
use object_store::multipart::MultipartStore;
use object_store::path::Path as Key;
use object_store::{ObjectStore, WriteMultipart};
use tokio::runtime::Handle;

use crate::audio::{NewObject, Objects, Source};

/// Readers asked for blocks this large stream the object instead (decoding, hashing): one
/// open-ended GET read as it arrives, a new one only after a seek away from it.
pub const STREAM_BLOCK: u64 = 2 << 20;
/// Block size of readers that pick small ranges (peaks, tiles, clips).
pub const PICK_BLOCK: u64 = 256 << 10;

/// The store of a server: cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    objects: Arc<dyn ObjectStore>,
    backend: Backend,
    prefix: String,
    scratch: PathBuf,
    runtime: Handle,
    /// Blocks of immutable objects shared by this process's readers (bucket only).
    shared: Arc<shared::Shared>,
}

enum Backend {
    /// The local folder: the core's own implementation of the layout.
    Folder(crate::audio::Store),
    /// A bucket, with its multipart API for uploads whose parts are numbered by us.
    Bucket(Arc<AmazonS3>),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("url", &self.inner.url)
            .finish()
    }
}

impl Store {
    /// Opens the store named by `url` (`None`: the data directory's `store/` folder). Call it
    /// within the runtime: the store keeps a handle to it for its blocking bridges.
    pub fn open(url: Option<&str>, data_dir: &Path) -> anyhow::Result<Self> {
        let runtime = Handle::current();
        let url = url.filter(|u| !u.is_empty());
        let (objects, backend, prefix, scratch, shown): (Arc<dyn ObjectStore>, _, _, _, _) =
            match url {
                None => Self::folder(data_dir.join("store"))?,
                Some(u) if u.starts_with("file://") => {
                    let path = url::Url::parse(u)
                        .ok()
                        .and_then(|p| p.to_file_path().ok())
                        .with_context(|| format!("--store {u}: not a file:///absolute/path"))?;
                    Self::folder(path)?
                }
                Some(u) if u.starts_with("s3://") => {
                    let parsed = url::Url::parse(u).with_context(|| format!("--store {u}"))?;
                    let bucket = parsed.host_str().unwrap_or_default().to_string();
                    anyhow::ensure!(!bucket.is_empty(), "--store {u}: no bucket named");
                    let prefix = parsed.path().trim_matches('/').to_string();
                    let mut builder = AmazonS3Builder::from_env().with_bucket_name(&bucket);
                    let endpoint = std::env::var("AWS_ENDPOINT_URL")
                        .or_else(|_| std::env::var("AWS_ENDPOINT"))
                        .unwrap_or_default();
                    if endpoint.starts_with("http://") {
                        builder = builder.with_allow_http(true);
                    }
                    let s3 = Arc::new(builder.build().with_context(|| format!("--store {u}"))?);
                    let scratch = data_dir.join("scratch");
                    std::fs::create_dir_all(&scratch)?;
                    (
                        s3.clone() as Arc<dyn ObjectStore>,
                        Backend::Bucket(s3),
                        prefix,
                        scratch,
                        u.to_string(),
                    )
                }
                Some(u) => anyhow::bail!("--store {u}: use file:///path or s3://bucket/prefix"),
            };
        Ok(Self {
            inner: Arc::new(Inner {
                url: shown,
                objects,
                backend,
                prefix,
                scratch,
                runtime,
                shared: Arc::new(shared::Shared::new(shared::SHARED_BYTES)),
            }),
        })
    }

    #[allow(clippy::type_complexity)]
    fn folder(
        root: PathBuf,
    ) -> anyhow::Result<(Arc<dyn ObjectStore>, Backend, String, PathBuf, String)> {
        let folder = crate::audio::Store::open(&root)
            .with_context(|| format!("opening the store folder {}", root.display()))?;
        let root = std::fs::canonicalize(&root)?;
        let objects = Arc::new(LocalFileSystem::new_with_prefix(&root)?);
        let scratch = root.join("tmp");
        let shown = format!("file://{}", root.display());
        Ok((
            objects,
            Backend::Folder(folder),
            String::new(),
            scratch,
            shown,
        ))
    }

    /// The store's URL, as given (or the folder's `file://` URL).
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The local folder behind the store, when it is one.
    pub fn folder_root(&self) -> Option<&Path> {
        match &self.inner.backend {
            Backend::Folder(f) => Some(f.root()),
            Backend::Bucket(_) => None,
        }
    }

    /// The object store's key for a store key (the layout's relative path).
    pub fn key(&self, key: &str) -> Key {
        if self.inner.prefix.is_empty() {
            Key::from(key)
        } else {
            Key::from(format!("{}/{key}", self.inner.prefix))
        }
    }

    /// A fresh key under `tmp/` for an object that becomes something else or nothing; what is
    /// left there when the server starts is swept away.
    pub fn tmp_key(&self, what: &str) -> String {
        format!("tmp/{what}-{}", crate::accounts::new_secret().1)
    }

    /// Whether the store answers: a small probe object is written under `tmp/`, read back and
    /// removed (`/readyz`).
    pub async fn probe(&self) -> anyhow::Result<()> {
        const PROBE: &[u8] = b"ready";
        let key = self.key(&self.tmp_key("readyz"));
        self.inner
            .objects
            .put(&key, object_store::PutPayload::from_static(PROBE))
            .await?;
        let back = self.inner.objects.get(&key).await?.bytes().await;
        self.inner.objects.delete(&key).await?;
        anyhow::ensure!(back? == PROBE, "the probe object read back differently");
        Ok(())
    }

    /// Whether `key` exists.
    pub async fn exists(&self, key: &str) -> anyhow::Result<bool> {
        match self.inner.objects.head(&self.key(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes `key`; a key that is not there is fine.
    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        let key = self.key(key);
        self.inner.shared.forget(&key);
        match self.inner.objects.delete(&key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The keys under `dir/` (relative store keys).
    pub async fn list(&self, dir: &str) -> anyhow::Result<Vec<String>> {
        Ok(self
            .list_dated(dir)
            .await?
            .into_iter()
            .map(|(k, _)| k)
            .collect())
    }

    /// The keys under `dir/` with the time each was last written (ms since the epoch).
    async fn list_dated(&self, dir: &str) -> anyhow::Result<Vec<(String, i64)>> {
        let prefix = self.key(dir);
        let strip = if self.inner.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.inner.prefix)
        };
        let mut out = Vec::new();
        let mut listing = self.inner.objects.list(Some(&prefix));
        while let Some(meta) = listing.next().await {
            let meta = match meta {
                Ok(m) => m,
                Err(object_store::Error::NotFound { .. }) => break,
                Err(e) => return Err(e.into()),
            };
            let full = meta.location.to_string();
            out.push((
                full.strip_prefix(&strip).unwrap_or(&full).to_string(),
                meta.last_modified.timestamp_millis(),
            ));
        }
        Ok(out)
    }

    /// Starts a streamed upload to `key` (multipart, a few parts in flight at most).
    pub async fn upload(&self, key: &str) -> anyhow::Result<Upload> {
        let upload = self.inner.objects.put_multipart(&self.key(key)).await?;
        Ok(Upload {
            writer: Some(WriteMultipart::new_with_chunk_size(upload, io::PART)),
            sync: self.folder_root().map(|root| root.join(key)),
        })
    }

    /// Copies a local file into the store as `key`, streaming it.
    pub async fn put_file(&self, key: &str, file: &Path) -> anyhow::Result<()> {
        use tokio::io::AsyncReadExt;
        let mut f = tokio::fs::File::open(file).await?;
        let mut up = self.upload(key).await?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = match f.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    up.abort().await;
                    return Err(e.into());
                }
            };
            up.write(&buf[..n]).await?;
        }
        up.finish().await
    }

    /// A reader of `key` in blocks of `block` bytes; returns it with the object's length.
    /// Blocking: call from a blocking thread.
    pub fn reader(&self, key: &str, block: u64) -> std::io::Result<(Box<dyn Source>, u64)> {
        match &self.inner.backend {
            Backend::Folder(f) => f.open(key),
            Backend::Bucket(_) => {
                // Everything but uploads in flight is named by its content.
                let immutable = !key.starts_with("tmp/");
                let r = io::ObjectReader::open(
                    self.inner.objects.clone(),
                    self.key(key),
                    self.inner.runtime.clone(),
                    block,
                    block >= STREAM_BLOCK,
                    immutable.then(|| self.inner.shared.clone()),
                )?;
                let len = r.len();
                Ok((Box::new(r), len))
            }
        }
    }

    /// Removes this process's scratch files and the `tmp/` objects not in `keep` (start-up,
    /// by the process that owns recovery). With `older_than`, only `tmp/` objects at least that
    /// old go: other replicas sharing the store may have just finished an upload whose job row
    /// is not written yet.
    pub async fn sweep(
        &self,
        keep: &std::collections::HashSet<String>,
        older_than: Option<std::time::Duration>,
    ) -> anyhow::Result<()> {
        let cutoff = older_than.map(|age| crate::db::now_ms() - age.as_millis() as i64);
        for (key, written) in self.list_dated("tmp").await? {
            if !keep.contains(&key) && cutoff.is_none_or(|c| written < c) {
                self.delete(&key).await?;
            }
        }
        if let Backend::Bucket(_) = self.inner.backend {
            for entry in std::fs::read_dir(&self.inner.scratch)? {
                let _ = std::fs::remove_file(entry?.path());
            }
        }
        Ok(())
    }

    fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.inner.runtime.block_on(f)
    }
}

/// A streamed upload: [`write`](Self::write) chunks as they arrive, then
/// [`finish`](Self::finish); [`abort`](Self::abort) (or dropping it unfinished) leaves nothing.
pub struct Upload {
    writer: Option<WriteMultipart>,
    /// On the folder: the file to fsync before the upload counts as stored (a bucket's
    /// completed upload is durable when acknowledged).
    sync: Option<PathBuf>,
}

impl Upload {
    /// Appends bytes; waits while too many parts are in flight, so memory stays bounded.
    pub async fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        let Some(w) = self.writer.as_mut() else {
            anyhow::bail!("upload already finished");
        };
        if let Err(e) = w.wait_for_capacity(2).await {
            self.abort().await;
            return Err(e.into());
        }
        w.write(bytes);
        Ok(())
    }

    /// Completes the upload: the object appears under its key.
    pub async fn finish(mut self) -> anyhow::Result<()> {
        match self.writer.take() {
            Some(w) => {
                w.finish().await?;
                if let Some(path) = &self.sync {
                    tokio::fs::File::open(path).await?.sync_all().await?;
                }
                Ok(())
            }
            None => anyhow::bail!("upload already finished"),
        }
    }

    /// Abandons the upload (the multipart upload is aborted on the server).
    pub async fn abort(&mut self) {
        if let Some(w) = self.writer.take()
            && let Err(e) = w.abort().await
        {
            tracing::warn!("aborting an upload failed: {e}");
        }
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if let Some(w) = self.writer.take() {
            // Dropped mid-way (the client went away): abort in the background.
            if let Ok(rt) = Handle::try_current() {
                rt.spawn(async move {
                    let _ = w.abort().await;
                });
            }
        }
    }
}

impl Objects for Store {
    fn open(&self, key: &str) -> std::io::Result<(Box<dyn Source>, u64)> {
        self.reader(key, STREAM_BLOCK)
    }

    fn create(&self, key: &str) -> std::io::Result<Box<dyn NewObject>> {
        match &self.inner.backend {
            Backend::Folder(f) => f.create(key),
            Backend::Bucket(s3) => Ok(Box::new(io::S3Object::new(
                s3.clone() as Arc<dyn MultipartStore>,
                self.inner.objects.clone(),
                self.key(key),
                self.inner.runtime.clone(),
            ))),
        }
    }

    fn exists(&self, key: &str) -> std::io::Result<bool> {
        match &self.inner.backend {
            Backend::Folder(f) => f.exists(key),
            Backend::Bucket(_) => self
                .block_on(Store::exists(self, key))
                .map_err(std::io::Error::other),
        }
    }

    fn copy(&self, from: &str, to: &str) -> std::io::Result<()> {
        match &self.inner.backend {
            Backend::Folder(f) => f.copy(from, to),
            // A server-side copy (CopyObject): the bytes never come back to us.
            Backend::Bucket(_) => self
                .block_on(self.inner.objects.copy(&self.key(from), &self.key(to)))
                .map_err(io::io_err),
        }
    }

    fn remove(&self, key: &str) -> std::io::Result<()> {
        match &self.inner.backend {
            Backend::Folder(f) => f.remove(key),
            Backend::Bucket(_) => self
                .block_on(self.delete(key))
                .map_err(std::io::Error::other),
        }
    }

    fn scratch(&self) -> &Path {
        &self.inner.scratch
    }
}

/// Bytes of a whole small object (metadata), for tests and tools.
pub async fn read_all(store: &Store, key: &str) -> anyhow::Result<Bytes> {
    Ok(store
        .inner
        .objects
        .get(&store.key(key))
        .await?
        .bytes()
        .await?)
}
