//! A Node.js test server (from `tests/e2e/`) started as a child process: it announces itself
//! with one JSON line on stdout and runs until its stdin closes; a server that takes commands
//! reads them one per line on stdin and answers each with one JSON line. Dropping the handle
//! stops it by its own PID, even when the test fails.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::Value;

pub struct NodeServer {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    /// The JSON line the server printed when it was ready.
    pub announced: Value,
}

impl Drop for NodeServer {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl NodeServer {
    /// Starts `tests/e2e/<script>` and waits for its announcement.
    pub fn start(script: &str) -> NodeServer {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert!(
            root.join("node_modules/oauth2-mock-server").is_dir()
                && root.join("node_modules/oidc-provider").is_dir(),
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
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("the server announces itself");
        match serde_json::from_str(&line) {
            Ok(announced) => NodeServer { child, stdin, stdout, announced },
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{script} did not start (it printed {line:?})");
            }
        }
    }

    /// Sends one command line and returns the server's one-line JSON answer.
    pub fn command(&mut self, command: &str) -> Value {
        let stdin = self.stdin.as_mut().expect("the server's stdin is open");
        writeln!(stdin, "{command}").expect("the server reads commands");
        stdin.flush().expect("flush");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("the server answers");
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("{command}: answered {line:?}"))
    }
}
