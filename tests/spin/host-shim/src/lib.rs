//! A stand-in for the two Spin host interfaces the example component uses, so the component
//! can run under `wasmtime serve` (which has no Spin APIs): composed in with `wasm-tools
//! compose`. It is test scaffolding, not Spin.
//!
//! - `fermyon:spin/key-value`: the store labelled `default`, one file per key (hex-encoded name)
//!   in the preopened directory `/kv` (`wasmtime serve --dir HOST::/kv`), so values outlive the
//!   per-request component instance as Spin's store does. No expiry, like Spin's.
//! - `fermyon:spin/variables`: `SPIN_VARIABLE_<NAME>` from the environment (`--env`), as Spin's
//!   environment-variable provider reads them.
#![cfg(target_os = "wasi")]

use std::path::PathBuf;

wit_bindgen::generate!({ path: "wit", world: "host-shim" });

use exports::fermyon::spin::key_value::{Error as KvError, Guest as KeyValue, GuestStore, Store};
use exports::fermyon::spin::variables::{Error as VariableError, Guest as Variables};

struct Shim;

struct FileStore {
    dir: PathBuf,
}

fn hex(key: &str) -> String {
    key.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(name: &str) -> Option<String> {
    let bytes: Option<Vec<u8>> = (0..name.len())
        .step_by(2)
        .map(|i| name.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect();
    String::from_utf8(bytes?).ok()
}

fn other(e: std::io::Error) -> KvError {
    KvError::Other(e.to_string())
}

impl FileStore {
    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(hex(key))
    }
}

impl KeyValue for Shim {
    type Store = FileStore;
}

impl GuestStore for FileStore {
    fn open(label: String) -> Result<Store, KvError> {
        if label != "default" {
            return Err(KvError::NoSuchStore);
        }
        Ok(Store::new(FileStore { dir: PathBuf::from("/kv") }))
    }

    fn get(&self, key: String) -> Result<Option<Vec<u8>>, KvError> {
        match std::fs::read(self.path(&key)) {
            Ok(value) => Ok(Some(value)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(other(e)),
        }
    }

    fn set(&self, key: String, value: Vec<u8>) -> Result<(), KvError> {
        std::fs::write(self.path(&key), value).map_err(other)
    }

    fn delete(&self, key: String) -> Result<(), KvError> {
        match std::fs::remove_file(self.path(&key)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(other(e)),
            _ => Ok(()),
        }
    }

    fn exists(&self, key: String) -> Result<bool, KvError> {
        Ok(self.path(&key).exists())
    }

    fn get_keys(&self) -> Result<Vec<String>, KvError> {
        let entries = std::fs::read_dir(&self.dir).map_err(other)?;
        Ok(entries.filter_map(|e| e.ok()?.file_name().to_str().and_then(unhex)).collect())
    }
}

impl Variables for Shim {
    fn get(name: String) -> Result<String, VariableError> {
        std::env::var(format!("SPIN_VARIABLE_{}", name.to_uppercase()))
            .map_err(|_| VariableError::Undefined(name))
    }
}

export!(Shim);
