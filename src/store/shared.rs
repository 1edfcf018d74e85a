//! The shared block cache: what this process keeps of immutable objects read from a bucket.

use axum::body::Bytes;
use object_store::path::Path as Key;

/// Bytes this process keeps of immutable objects, shared by every reader (README "Scaling
/// out"): at most this many bytes of blocks, the least recently used going first.
pub const SHARED_BYTES: u64 = 64 << 20;

/// Blocks of immutable objects (analysis copies, peaks, tracks, originals: their keys are
/// named by content, so a stored block never changes) and their lengths, shared by every
/// picking reader of this process. A thousand transcribers drawing the same recording then
/// cost the bucket one GET per block, not one each: concurrent misses of one block wait for
/// the first reader's GET instead of sending their own.
pub struct Shared {
    pub(super) blocks: quick_cache::sync::Cache<(Key, u64, u64), Bytes, ByLen>,
    pub(super) lens: quick_cache::sync::Cache<Key, u64>,
}

/// Weighs a cached block by its length.
#[derive(Clone)]
pub struct ByLen;

impl quick_cache::Weighter<(Key, u64, u64), Bytes> for ByLen {
    fn weight(&self, _: &(Key, u64, u64), block: &Bytes) -> u64 {
        block.len() as u64 + 64
    }
}

impl Shared {
    /// A cache of at most `bytes` of blocks.
    pub fn new(bytes: u64) -> Self {
        Self {
            blocks: quick_cache::sync::Cache::with_weighter(
                (bytes / PICK_GUESS) as usize + 1,
                bytes,
                ByLen,
            ),
            lens: quick_cache::sync::Cache::new(4096),
        }
    }

    /// Forgets `key` (this process deleted it).
    pub fn forget(&self, key: &Key) {
        self.lens.remove(key);
    }
}

/// A typical picking block, for sizing the cache's table.
const PICK_GUESS: u64 = 64 << 10;

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures_util::stream::BoxStream;
    use object_store::memory::InMemory;
    use object_store::{
        GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
        PutMultipartOptions, PutOptions, PutPayload, PutResult,
    };
    use std::io::Read;

    use super::*;
    use crate::store::io::ObjectReader;

    /// An in-memory bucket that counts its GETs (HEAD included).
    #[derive(Debug, Default)]
    struct Counted {
        inner: InMemory,
        gets: AtomicUsize,
    }

    impl std::fmt::Display for Counted {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("counted")
        }
    }

    #[async_trait::async_trait]
    impl ObjectStore for Counted {
        async fn put_opts(
            &self,
            k: &Key,
            p: PutPayload,
            o: PutOptions,
        ) -> object_store::Result<PutResult> {
            self.inner.put_opts(k, p, o).await
        }
        async fn put_multipart_opts(
            &self,
            k: &Key,
            o: PutMultipartOptions,
        ) -> object_store::Result<Box<dyn MultipartUpload>> {
            self.inner.put_multipart_opts(k, o).await
        }
        async fn get_opts(&self, k: &Key, o: GetOptions) -> object_store::Result<GetResult> {
            self.gets.fetch_add(1, Ordering::SeqCst);
            self.inner.get_opts(k, o).await
        }
        async fn delete(&self, k: &Key) -> object_store::Result<()> {
            self.inner.delete(k).await
        }
        fn list(&self, k: Option<&Key>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
            self.inner.list(k)
        }
        async fn list_with_delimiter(&self, k: Option<&Key>) -> object_store::Result<ListResult> {
            self.inner.list_with_delimiter(k).await
        }
        async fn copy(&self, a: &Key, b: &Key) -> object_store::Result<()> {
            self.inner.copy(a, b).await
        }
        async fn copy_if_not_exists(&self, a: &Key, b: &Key) -> object_store::Result<()> {
            self.inner.copy_if_not_exists(a, b).await
        }
    }

    /// 40 readers of a 5-block object, each reading it whole: GETs sent, and what they read.
    fn read_by_forty(shared: Option<Arc<Shared>>) -> usize {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let bucket = Arc::new(Counted::default());
        let key = Key::from("peaks/ab/abcd.peaks");
        let data: Vec<u8> = (0..5 * 4096u32).map(|i| (i % 251) as u8).collect();
        runtime
            .block_on(bucket.put(&key, PutPayload::from(data.clone())))
            .unwrap();
        bucket.gets.store(0, Ordering::SeqCst);
        std::thread::scope(|s| {
            for _ in 0..40 {
                let (bucket, key, shared) = (bucket.clone(), key.clone(), shared.clone());
                let (handle, data) = (runtime.handle().clone(), &data);
                s.spawn(move || {
                    let store: Arc<dyn ObjectStore> = bucket;
                    let mut r =
                        ObjectReader::open(store, key, handle, 4096, false, shared).unwrap();
                    let mut got = Vec::new();
                    r.read_to_end(&mut got).unwrap();
                    assert_eq!(&got, data);
                });
            }
        });
        bucket.gets.load(Ordering::SeqCst)
    }

    #[test]
    fn readers_of_one_immutable_object_share_its_blocks() {
        // Alone, each reader asks for the length and every block: 40 × (1 + 5).
        assert_eq!(read_by_forty(None), 240);
        // Shared, the bucket sees one HEAD and one GET per block, however many read.
        assert_eq!(read_by_forty(Some(Arc::new(Shared::new(1 << 20)))), 6);
    }

    #[test]
    fn the_cache_holds_no_more_than_its_bytes() {
        let shared = Shared::new(64 << 10);
        for i in 0..100u64 {
            shared
                .blocks
                .insert((Key::from("a"), 4096, i), Bytes::from(vec![0u8; 4096]));
        }
        assert!(
            shared.blocks.weight() <= 64 << 10,
            "{}",
            shared.blocks.weight()
        );
        assert!(shared.blocks.len() < 100);
    }
}
