//! What the decoder reads from: the codec registry (symphonia's codecs plus our Opus adapter)
//! and a source wrapper that reports how far it has been read, for progress bars.

use std::io::{self, Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use symphonia::core::codecs::registry::CodecRegistry;
use symphonia::core::io::MediaSource;

use super::opus::OpusDecoder;

/// The codecs fangyan decodes: everything symphonia ships, plus Opus.
pub(super) fn codecs() -> &'static CodecRegistry {
    static REGISTRY: OnceLock<CodecRegistry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut r = CodecRegistry::new();
        symphonia::default::register_enabled_codecs(&mut r);
        r.register_audio_decoder::<OpusDecoder>();
        r
    })
}

/// Bytes the decoder can read and seek: a local file, or an object read in ranged blocks (the
/// store's reader, outside the core). Anything `Read + Seek + Send + Sync` is one.
pub trait Source: Read + Seek + Send + Sync {}

impl<T: Read + Seek + Send + Sync> Source for T {}

/// A source as symphonia's media source that reports how far it has been read, for progress bars.
pub(super) struct CountingFile {
    pub(super) file: Box<dyn Source>,
    pub(super) len: u64,
    pub(super) pos: Arc<AtomicU64>,
}

impl Read for CountingFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        self.pos.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl Seek for CountingFile {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let p = self.file.seek(to)?;
        self.pos.store(p, Ordering::Relaxed);
        Ok(p)
    }
}

impl MediaSource for CountingFile {
    fn is_seekable(&self) -> bool {
        true
    }
    fn byte_len(&self) -> Option<u64> {
        Some(self.len)
    }
}
