//! The store seen from the core: [`Objects`], the `std::io` face of wherever recordings are
//! kept, and its local-folder implementation on [`Store`]. The async object store (S3 and
//! friends) implements the same trait outside the core, in `crate::store`.

use std::fs::{self, File};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::ingest::{Store, scratch_name};
use super::source::Source;

/// Where stored objects are read and written, in `std::io` terms: a local folder ([`Store`])
/// or an object store bridged by the caller. Keys are the relative paths of the module docs.
pub trait Objects: Send + Sync {
    /// Opens a stored object for reading; returns it with its length in bytes.
    fn open(&self, key: &str) -> io::Result<(Box<dyn Source>, u64)>;
    /// Starts the object `key`. It appears only when committed; dropped uncommitted, it leaves
    /// nothing behind.
    fn create(&self, key: &str) -> io::Result<Box<dyn NewObject>>;
    /// Whether `key` exists.
    fn exists(&self, key: &str) -> io::Result<bool>;
    /// Copies `from` to `to` (whole, appearing at once).
    fn copy(&self, from: &str, to: &str) -> io::Result<()>;
    /// Removes `key`; a key that is not there is fine.
    fn remove(&self, key: &str) -> io::Result<()>;
    /// A local folder for scratch files that are small beside the audio (the coarser peak
    /// levels, the pitch spill); whatever is left there is swept at start-up.
    fn scratch(&self) -> &Path;
}

/// An object being written: `Write`, and `Seek` at least back into its first 5 MiB (where the
/// WAV and peaks headers are patched at the end) and forward to its end.
pub trait NewObject: Write + Seek + Send {
    /// Makes the object visible under its key.
    fn commit(self: Box<Self>) -> io::Result<()>;
}

/// A file being written under the folder's `tmp/`, renamed to its key when committed and
/// removed when dropped uncommitted.
pub struct LocalObject {
    file: Option<File>,
    tmp: PathBuf,
    dest: PathBuf,
}

impl Write for LocalObject {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file()?.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file()?.flush()
    }
}

impl Seek for LocalObject {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.file()?.seek(to)
    }
}

impl LocalObject {
    fn file(&mut self) -> io::Result<&mut File> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("object already committed"))
    }
}

impl NewObject for LocalObject {
    fn commit(mut self: Box<Self>) -> io::Result<()> {
        let file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("committed twice"))?;
        file.sync_all()?;
        drop(file);
        if let Some(dir) = self.dest.parent() {
            fs::create_dir_all(dir)?;
        }
        fs::rename(&self.tmp, &self.dest)
    }
}

impl Drop for LocalObject {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

impl Objects for Store {
    fn open(&self, key: &str) -> io::Result<(Box<dyn Source>, u64)> {
        let file = File::open(self.root().join(key))?;
        let len = file.metadata()?.len();
        Ok((Box::new(file), len))
    }

    fn create(&self, key: &str) -> io::Result<Box<dyn NewObject>> {
        let tmp = self.root().join("tmp").join(scratch_name("object"));
        Ok(Box::new(LocalObject {
            file: Some(File::create(&tmp)?),
            tmp,
            dest: self.root().join(key),
        }))
    }

    fn exists(&self, key: &str) -> io::Result<bool> {
        self.root().join(key).try_exists()
    }

    fn copy(&self, from: &str, to: &str) -> io::Result<()> {
        // `fs::copy` lets the kernel move the bytes (`copy_file_range`, a reflink where the
        // filesystem can); the copy appears under its name only when complete.
        let tmp = self.root().join("tmp").join(scratch_name("copy"));
        let copied = fs::copy(self.root().join(from), &tmp)
            .and_then(|_| File::open(&tmp)?.sync_all())
            .and_then(|()| fs::rename(&tmp, self.root().join(to)));
        if copied.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        copied
    }

    fn remove(&self, key: &str) -> io::Result<()> {
        match fs::remove_file(self.root().join(key)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    fn scratch(&self) -> &Path {
        self.scratch_dir()
    }
}
