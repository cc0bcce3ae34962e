//! The README's first example is a real, tested program: `examples/protect-route/src/lib.rs`,
//! built for Workers and run in workerd by the test command (`tests/e2e/examples.test.mjs`).

#[test]
fn the_readmes_first_example_is_the_protect_route_example_word_for_word() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let example =
        std::fs::read_to_string(format!("{root}/examples/protect-route/src/lib.rs")).unwrap();
    let section = readme.split("## Protecting a route").nth(1).expect("the section");
    let block = section.split("```rust\n").nth(1).and_then(|b| b.split("\n```").next());
    let example: Vec<&str> = example.lines().filter(|l| !l.starts_with("#![cfg")).collect();
    assert_eq!(block.expect("a rust block").lines().collect::<Vec<_>>(), example);
    assert!(example.len() <= 25, "{} lines", example.len());
}
