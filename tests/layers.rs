//! The modules of `einsum-core`, `einsum-runtime` and `einsum-macro` form
//! layers: no
//! module uses, directly or through others, a module that uses it.
//!
//! A module is a source file (`kernel/gemm.rs` is `kernel::gemm`, a
//! `mod.rs` its folder). It uses another when a line of code names a path
//! into it: `crate::…` (also `$crate::…` in a macro), `super::…`, or, in a
//! `use`, one of its own child modules. A path is resolved to the longest
//! prefix that is a module. Comments and `#[cfg(test)] mod tests` are left
//! out, and so is `super::*` (the enclosing module, as an inline module
//! names it).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// Each module of the crate whose `src` is `src`, by path (`""` for the
/// crate root), with its code.
fn modules(src: &Path) -> BTreeMap<String, String> {
    fn walk(dir: &Path, prefix: &[String], out: &mut BTreeMap<String, String>) {
        for entry in fs::read_dir(dir).expect("a source folder") {
            let path = entry.expect("a folder entry").path();
            let name = path.file_stem().unwrap().to_string_lossy().to_string();
            if path.is_dir() {
                let mut p = prefix.to_vec();
                p.push(name);
                walk(&path, &p, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let mut p = prefix.to_vec();
                if name != "mod" && name != "lib" {
                    p.push(name);
                }
                out.insert(p.join("::"), code_of(&fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(src, &[], &mut out);
    out
}

/// The file's code without its comments and its unit tests.
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap();
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths a path tree at the start of `s` stands for (`a::{b, c::d}` is
/// `a::b` and `a::c::d`), each as its segments.
fn paths(s: &str) -> Vec<Vec<String>> {
    fn tree(s: &str, at: &mut usize) -> Vec<Vec<String>> {
        let b = s.as_bytes();
        let ident = |at: &mut usize| {
            let start = *at;
            while *at < b.len() && (b[*at].is_ascii_alphanumeric() || b[*at] == b'_') {
                *at += 1;
            }
            s[start..*at].to_string()
        };
        let skip_space = |at: &mut usize| {
            while *at < b.len() && b[*at].is_ascii_whitespace() {
                *at += 1;
            }
        };
        skip_space(at);
        if *at < b.len() && b[*at] == b'{' {
            *at += 1;
            let mut all = Vec::new();
            loop {
                skip_space(at);
                if *at >= b.len() || b[*at] == b'}' {
                    *at += 1;
                    return all;
                }
                all.extend(tree(s, at));
                skip_space(at);
                if *at < b.len() && b[*at] == b',' {
                    *at += 1;
                }
            }
        }
        if *at < b.len() && b[*at] == b'*' {
            *at += 1;
            return vec![vec!["*".to_string()]];
        }
        let head = ident(at);
        if s[*at..].starts_with("::") {
            *at += 2;
            return tree(s, at)
                .into_iter()
                .map(|mut rest| {
                    rest.insert(0, head.clone());
                    rest
                })
                .collect();
        }
        // `x as y`, `self`: only the path matters.
        vec![vec![head]]
    }
    tree(s, &mut 0)
}

/// The modules `module` uses, among `all`.
fn uses(module: &str, code: &str, all: &BTreeMap<String, String>) -> BTreeSet<String> {
    let here: Vec<String> = if module.is_empty() {
        Vec::new()
    } else {
        module.split("::").map(String::from).collect()
    };
    let children: BTreeSet<String> = all
        .keys()
        .filter_map(|m| {
            let rest = if module.is_empty() {
                Some(m.as_str())
            } else {
                m.strip_prefix(module)?.strip_prefix("::")
            };
            rest.filter(|r| !r.is_empty() && !r.contains("::"))
                .map(String::from)
        })
        .collect();
    let mut found = BTreeSet::new();
    let mut resolve = |base: Vec<String>, path: &[String]| {
        let mut best = None;
        let mut m = base.clone();
        if all.contains_key(&m.join("::")) && !base.is_empty() {
            best = Some(m.join("::"));
        }
        for seg in path {
            m.push(seg.clone());
            if all.contains_key(&m.join("::")) {
                best = Some(m.join("::"));
            }
        }
        if let Some(b) = best.filter(|b| b != module) {
            found.insert(b);
        }
    };
    let b = code.as_bytes();
    for (i, _) in code
        .match_indices("crate::")
        .chain(code.match_indices("super::"))
    {
        let before = i.checked_sub(1).map(|j| b[j]);
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b':') {
            continue;
        }
        for p in paths(&code[i..]) {
            let mut base = here.clone();
            let mut rest = &p[..];
            match rest.first().map(String::as_str) {
                Some("crate") => {
                    base.clear();
                    rest = &rest[1..];
                }
                Some("super") => {
                    while rest.first().map(String::as_str) == Some("super") {
                        base.pop();
                        rest = &rest[1..];
                    }
                }
                _ => continue,
            }
            if rest.first().map(String::as_str) == Some("*") {
                continue;
            }
            resolve(base, rest);
        }
    }
    // `use child::…` of one of this module's own children.
    for line in code.lines() {
        let line = line.trim_start();
        let Some(at) = line.find("use ") else {
            continue;
        };
        if !(line.starts_with("use ") || line.starts_with("pub")) {
            continue;
        }
        for p in paths(&line[at + 4..]) {
            if p.first().is_some_and(|c| children.contains(c)) {
                resolve(here.clone(), &p);
            }
        }
    }
    found
}

/// A cycle of the graph, if it has one.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(m) {
            Some(2) => return None,
            Some(1) => {
                let start = stack.iter().position(|s| s == m).unwrap();
                let mut c = stack[start..].to_vec();
                c.push(m.to_string());
                return Some(c);
            }
            _ => {}
        }
        state.insert(m.to_string(), 1);
        stack.push(m.to_string());
        for next in graph.get(m).into_iter().flatten() {
            if let Some(c) = visit(next, graph, state, stack) {
                return Some(c);
            }
        }
        stack.pop();
        state.insert(m.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    graph
        .keys()
        .find_map(|m| visit(m, graph, &mut state, &mut Vec::new()))
}

fn graph_of(krate: &str) -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(krate)
        .join("src");
    let all = modules(&src);
    all.iter()
        .map(|(m, code)| (m.clone(), uses(m, code, &all)))
        .collect()
}

fn assert_layered(krate: &str) {
    let graph = graph_of(krate);
    if let Some(c) = cycle(&graph) {
        panic!(
            "{krate}: modules use each other in a cycle: {}",
            c.join(" -> ")
        );
    }
}

#[test]
fn core_modules_form_layers() {
    assert_layered("einsum-core");
}

#[test]
fn runtime_modules_form_layers() {
    assert_layered("einsum-runtime");
}

#[test]
fn macro_modules_form_layers() {
    assert_layered("einsum-macro");
}

#[test]
fn the_check_sees_uses_and_cycles() {
    let runtime = graph_of("einsum-core");
    // A few uses it must see, of each kind: `crate::`, `super::` in a
    // group, a child in a `use`, and `$crate::` in a macro.
    assert!(runtime["call"].contains("call::resolve"));
    assert!(runtime["kernel::dispatch"].contains("kernel::gemm"));
    assert!(runtime["kernel"].contains("kernel::dispatch"));
    assert!(runtime["prebuilt"].contains("kernel"));
    assert!(!runtime["kernel::dispatch"].contains("call"));
    // And a cycle where there is one.
    let mut g = runtime.clone();
    g.get_mut("element").unwrap().insert("prebuilt".to_string());
    let c = cycle(&g).expect("element -> prebuilt -> element");
    assert!(c.contains(&"element".to_string()) && c.contains(&"prebuilt".to_string()));
    assert_eq!(
        paths("crate::a::{b, c::{d, e}}, x"),
        [
            vec!["crate", "a", "b"],
            vec!["crate", "a", "c", "d"],
            vec!["crate", "a", "c", "e"]
        ]
    );
}
