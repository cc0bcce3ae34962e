//! The crate's floors: every `crate::` / `super::` path in `src/` points to the same room or to a
//! lower floor, and no two rooms import each other, directly or around a circle.
//!
//! The table of floors is the one in `docs/ARCHITECTURE.md` ("## Layers"), so the document and
//! the code cannot drift apart: a file missing from the table, an import that points up, or a
//! circle fails here with the offending file and path. What is read: `use crate::…;` trees,
//! `use super::…;` trees and `crate::a::b` paths written in code; comments and each file's
//! trailing `#[cfg(test)] mod tests` (tests may reach anywhere) are not. A name imported from the
//! crate root (`crate::Error`) is followed through `lib.rs`'s `pub use` to where it is defined.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One room of the house: the path prefix (under `src/`) it covers, and its floor.
#[derive(Debug, Clone)]
struct Room {
    prefix: String,
    floor: u32,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The rows of the "## Layers" table: `| floor | name | `file` `dir/` ... |`.
fn rooms_from_architecture() -> Vec<Room> {
    let text = std::fs::read_to_string(root().join("docs/ARCHITECTURE.md")).unwrap();
    let section = text.split("\n## Layers").nth(1).expect("docs/ARCHITECTURE.md has ## Layers");
    let section = section.split("\n## ").next().unwrap();
    let mut rooms = Vec::new();
    for line in section.lines().filter(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let Ok(floor) = cells[0].parse::<u32>() else { continue };
        for path in cells[2].split('`').skip(1).step_by(2) {
            rooms.push(Room { prefix: path.to_owned(), floor });
        }
    }
    assert!(rooms.len() > 5, "the layers table has rows");
    rooms
}

/// The room holding `rel` (a path under `src/`): the longest matching prefix.
fn room_of<'a>(rooms: &'a [Room], rel: &str) -> Option<&'a Room> {
    rooms
        .iter()
        .filter(
            |r| if r.prefix.ends_with('/') { rel.starts_with(&r.prefix) } else { rel == r.prefix },
        )
        .max_by_key(|r| r.prefix.len())
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file (`src/a/b.rs` → `[a, b]`, `src/a/mod.rs` → `[a]`).
fn module_of(rel: &str) -> Vec<String> {
    let mut parts: Vec<String> =
        rel.trim_end_matches(".rs").split('/').map(str::to_owned).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The code of a file as the checker reads it: no comment lines, no trailing test module.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// The paths a `use` tree names (`a::{b, c::D}` → `[a, b]`, `[a, c, D]`).
fn expand(prefix: Vec<String>, tree: &str) -> Vec<Vec<String>> {
    let tree = tree.trim();
    if let Some(inner) = tree.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
        let (mut items, mut depth, mut current) = (Vec::new(), 0, String::new());
        for c in inner.chars() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            if c == ',' && depth == 0 {
                items.push(std::mem::take(&mut current));
            } else {
                current.push(c);
            }
        }
        items.push(current);
        return items
            .iter()
            .filter(|i| !i.trim().is_empty())
            .flat_map(|i| expand(prefix.clone(), i))
            .collect();
    }
    if let Some((head, rest)) = tree.split_once("::") {
        let mut next = prefix;
        next.push(head.trim().to_owned());
        return expand(next, rest);
    }
    let name = tree.split_whitespace().next().unwrap_or_default().to_owned();
    let mut path = prefix;
    path.push(name);
    vec![path]
}

/// Every path a file's code names, made absolute (from the crate root).
fn paths_named(rel: &str, code: &str) -> Vec<Vec<String>> {
    let module = module_of(rel);
    let mut paths = Vec::new();
    let absolute = |head: &str, mut rest: Vec<String>| -> Vec<String> {
        let mut base = if head == "crate" { Vec::new() } else { module.clone() };
        if head == "super" {
            base.pop();
        }
        while rest.first().map(String::as_str) == Some("super") {
            rest.remove(0);
            base.pop();
        }
        base.extend(rest);
        base
    };
    for head in ["crate", "super"] {
        // `use crate::…;` / `use super::…;` trees.
        for (at, _) in code.match_indices(&format!("use {head}::")) {
            let tree = &code[at + 4 + head.len() + 2..];
            let tree = &tree[..tree.find(';').unwrap()];
            for path in expand(Vec::new(), tree) {
                paths.push(absolute(head, path));
            }
        }
        // Paths written in code: `crate::config::media_type(...)`.
        for (at, _) in code.match_indices(&format!("{head}::")) {
            let before = code[..at].chars().last().unwrap_or(' ');
            if before.is_alphanumeric() || before == '_' || before == '$' || before == ':' {
                continue;
            }
            if code[..at].ends_with("use ") {
                continue;
            }
            let rest: String = code[at + head.len() + 2..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let segments: Vec<String> =
                rest.split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect();
            paths.push(absolute(head, segments));
        }
    }
    paths
}

/// `lib.rs`'s root re-exports: name → the path it is defined at.
fn root_exports() -> BTreeMap<String, Vec<String>> {
    let code = code_of(&std::fs::read_to_string(root().join("src/lib.rs")).unwrap());
    let mut exports = BTreeMap::new();
    for (at, _) in code.match_indices("\npub use ") {
        let tree = &code[at + 9..];
        let tree = &tree[..tree.find(';').unwrap()];
        for path in expand(Vec::new(), tree) {
            exports.insert(path.last().unwrap().clone(), path);
        }
    }
    exports
}

/// The file a path leads into: the deepest module of it that is a file under `src/`.
fn file_of(path: &[String], exports: &BTreeMap<String, Vec<String>>) -> Option<String> {
    if let Some(first) = path.first() {
        if let Some(target) = exports.get(first) {
            if target.first() != path.first() {
                let mut followed = target.clone();
                followed.extend(path[1..].iter().cloned());
                return file_of(&followed, exports);
            }
        }
    }
    let mut found = None;
    for depth in 1..=path.len() {
        let dir = path[..depth].join("/");
        for candidate in [format!("{dir}.rs"), format!("{dir}/mod.rs")] {
            if root().join("src").join(&candidate).is_file() {
                found = Some(candidate);
            }
        }
        if found.as_deref().map(module_of).map(|m| m.len()) != Some(depth) {
            break;
        }
    }
    found
}

#[test]
fn every_import_points_to_its_own_room_or_a_lower_floor_and_no_rooms_form_a_circle() {
    let rooms = rooms_from_architecture();
    let exports = root_exports();
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut problems = Vec::new();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let rel = file.strip_prefix(root().join("src")).unwrap().to_string_lossy().into_owned();
        let Some(from) = room_of(&rooms, &rel) else {
            problems
                .push(format!("src/{rel} is in no room of docs/ARCHITECTURE.md's layers table"));
            continue;
        };
        let code = code_of(&std::fs::read_to_string(file).unwrap());
        for path in paths_named(&rel, &code) {
            let Some(target) = file_of(&path, &exports) else { continue };
            let Some(to) = room_of(&rooms, &target) else { continue };
            if to.prefix == from.prefix {
                continue;
            }
            if to.floor > from.floor {
                problems.push(format!(
                    "src/{rel} (floor {}) imports {} from src/{target} (floor {}), a floor above it",
                    from.floor,
                    path.join("::"),
                    to.floor
                ));
            }
            edges.entry(from.prefix.clone()).or_default().insert(to.prefix.clone());
        }
    }
    // A circle among rooms, even on one floor.
    fn visit(
        room: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        trail: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        circles: &mut Vec<String>,
    ) {
        if let Some(at) = trail.iter().position(|r| r == room) {
            circles.push(format!("{} → {room}", trail[at..].join(" → ")));
            return;
        }
        if !done.insert(room.to_owned()) {
            return;
        }
        trail.push(room.to_owned());
        for next in edges.get(room).into_iter().flatten() {
            visit(next, edges, trail, done, circles);
        }
        trail.pop();
    }
    let (mut done, mut circles) = (BTreeSet::new(), Vec::new());
    for room in edges.keys() {
        visit(room, &edges, &mut Vec::new(), &mut done, &mut circles);
    }
    problems.extend(circles.into_iter().map(|c| format!("a circle of imports: {c}")));
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

#[test]
fn the_checker_sees_an_upward_import_a_root_reexport_and_a_super_path() {
    // The checker's own reading, on code written for it: a test that cannot see an import
    // would pass on any house.
    let exports = root_exports();
    let code = code_of(
        "use crate::validation::{keys::KeySource, parse};\n// use crate::web_api::WebApi;\nfn f() -> crate::Error { super::super::jose::Algorithm::Rs256; }\n#[cfg(test)]\nmod tests { use crate::web_api::WebApi; }",
    );
    let named: BTreeSet<String> = paths_named("acquisition/grants/mod.rs", &code)
        .iter()
        .filter_map(|p| file_of(p, &exports))
        .collect();
    let expected: BTreeSet<String> =
        ["validation/keys.rs", "validation/parse.rs", "error.rs", "jose.rs"]
            .map(String::from)
            .into();
    assert_eq!(named, expected);
}
