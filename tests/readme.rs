//! The README's command table must match the server's command table.
//! `UPDATE_README=1 cargo test --test readme` regenerates it.

const START: &str = "<!-- commands:start -->\n";
const END: &str = "<!-- commands:end -->";

#[test]
fn readme_command_table_matches_the_command_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let readme = std::fs::read_to_string(path).expect("README.md exists");
    let (Some(a), Some(b)) = (readme.find(START), readme.find(END)) else {
        panic!("README.md lacks the {START:?} / {END:?} markers");
    };
    let current = &readme[a + START.len()..b];
    let table = ember::commands::CommandTable::build();
    let wanted = ember::commands::command::markdown_table(&table);
    if current == wanted {
        return;
    }
    if std::env::var("UPDATE_README").as_deref() == Ok("1") {
        let updated = format!("{}{}{}", &readme[..a + START.len()], wanted, &readme[b..]);
        std::fs::write(path, updated).expect("README.md is writable");
        return;
    }
    panic!(
        "README.md's command table is out of date with the command table; \
         run `UPDATE_README=1 cargo test --test readme`"
    );
}

#[test]
fn shipped_config_file_loads_and_matches_defaults() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/conf/ember.conf");
    let mut c = ember::config::Config::default();
    c.load_file(std::path::Path::new(path))
        .unwrap_or_else(|e| panic!("{e}"));
    // Every parameter is documented there with its default.
    let text = std::fs::read_to_string(path).unwrap();
    let defaults = ember::config::Config::default();
    for p in ember::config::PARAMS {
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().next() == Some(p.name)),
            "conf/ember.conf does not document {}",
            p.name
        );
        let dir_differs = p.name == "dir"; // "./" vs "." are the same place
        if !dir_differs {
            assert_eq!(
                (p.get)(&c),
                (p.get)(&defaults),
                "{} in conf/ember.conf is not the default",
                p.name
            );
        }
    }
}
