//! A Node.js test server (from `tests/e2e/`) started as a child process: it announces itself
//! with one JSON line on stdout and runs until its stdin closes. Dropping the handle stops it by
//! its own PID, even when the test fails.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

pub struct NodeServer {
    child: Child,
    /// The JSON line the server printed when it was ready.
    pub announced: Value,
}

impl Drop for NodeServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl NodeServer {
    /// Starts `tests/e2e/<script>` and waits for its announcement.
    pub fn start(script: &str) -> NodeServer {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert!(
            root.join("node_modules/oauth2-mock-server").is_dir(),
            "the npm test tools are not installed: run `npm ci` (scripts/test.sh does)"
        );
        let mut child = Command::new("node")
            .arg(root.join("tests/e2e").join(script))
            .current_dir(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node starts");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout).read_line(&mut line).expect("the server announces itself");
        match serde_json::from_str(&line) {
            Ok(announced) => NodeServer { child, announced },
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{script} did not start (it printed {line:?})");
            }
        }
    }
}
