//! A stand-in for the two Spin host interfaces the example component uses, so the component
//! can run under `wasmtime serve` (which has no Spin APIs): composed in with `wasm-tools
//! compose`. It is test scaffolding, not Spin.
//!
//! - `spin:key-value/key-value@3.0.0`: the store labelled `default`, one file per key
//!   (hex-encoded name) in the preopened directory `/kv` (`wasmtime serve --dir HOST::/kv`), so
//!   values outlive a component instance as Spin's store does. No expiry, like Spin's.
//! - `spin:variables/variables@3.0.0`: `SPIN_VARIABLE_<NAME>` from the environment (`--env`), as
//!   Spin's environment-variable provider reads them.
//!
//! Both interfaces are WASI 0.3 `async func`s; the shim answers each at once (its file access is
//! synchronous), so it never parks a caller's task.
#![cfg(target_os = "wasi")]

use std::path::PathBuf;

wit_bindgen::generate!({ path: "wit", world: "host-shim", generate_all });

use exports::spin::key_value::key_value::{Error as KvError, Guest as KeyValue, GuestStore, Store};
use exports::spin::variables::variables::{Error as VariableError, Guest as Variables};

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

    fn keys(&self) -> Result<Vec<String>, KvError> {
        let entries = std::fs::read_dir(&self.dir).map_err(other)?;
        Ok(entries.filter_map(|e| e.ok()?.file_name().to_str().and_then(unhex)).collect())
    }
}

impl KeyValue for Shim {
    type Store = FileStore;
}

impl GuestStore for FileStore {
    async fn open(label: String) -> Result<Store, KvError> {
        if label != "default" {
            return Err(KvError::NoSuchStore);
        }
        Ok(Store::new(FileStore { dir: PathBuf::from("/kv") }))
    }

    async fn get(&self, key: String) -> Result<Option<Vec<u8>>, KvError> {
        match std::fs::read(self.path(&key)) {
            Ok(value) => Ok(Some(value)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(other(e)),
        }
    }

    async fn set(&self, key: String, value: Vec<u8>) -> Result<(), KvError> {
        // Written beside and renamed into place: a concurrent reader sees the old value or the
        // new one, never half of one.
        let path = self.path(&key);
        let partial = path.with_extension("partial");
        std::fs::write(&partial, value).map_err(other)?;
        std::fs::rename(&partial, &path).map_err(other)
    }

    async fn delete(&self, key: String) -> Result<(), KvError> {
        match std::fs::remove_file(self.path(&key)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(other(e)),
            _ => Ok(()),
        }
    }

    async fn exists(&self, key: String) -> Result<bool, KvError> {
        Ok(self.path(&key).exists())
    }

    async fn get_keys(
        &self,
    ) -> (wit_bindgen::StreamReader<String>, wit_bindgen::FutureReader<Result<(), KvError>>) {
        let (mut keys_out, keys_in) = wit_stream::new::<String>();
        let (result_out, result_in) = wit_future::new::<Result<(), KvError>>(|| Ok(()));
        let listed = self.keys();
        wit_bindgen::spawn(async move {
            let result = match listed {
                Ok(keys) => {
                    keys_out.write_all(keys).await;
                    Ok(())
                }
                Err(e) => Err(e),
            };
            drop(keys_out);
            let _ = result_out.write(result).await;
        });
        (keys_in, result_in)
    }
}

impl Variables for Shim {
    async fn get(name: String) -> Result<String, VariableError> {
        std::env::var(format!("SPIN_VARIABLE_{}", name.to_uppercase()))
            .map_err(|_| VariableError::Undefined(name))
    }
}

export!(Shim);
