//! docs/json.md as a schema: its `### \`name\`` tables read into field lists, and
//! documents checked against them (every documented field present with its type,
//! nothing undocumented).
#![allow(dead_code)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// object name → [(field, type)], from the `### \`name\`` tables of docs/json.md.
pub type Schema = BTreeMap<String, Vec<(String, String)>>;

pub fn schema() -> Schema {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/json.md"))
        .expect("docs/json.md");
    let mut schema = Schema::new();
    let mut current: Option<String> = None;
    for line in doc.lines() {
        if let Some(rest) = line.strip_prefix("### `") {
            let name = rest.trim_end_matches('`').to_string();
            schema.insert(name.clone(), Vec::new());
            current = Some(name);
            continue;
        }
        if line.starts_with("## ") {
            current = None;
        }
        let Some(name) = &current else { continue };
        let Some(rest) = line.strip_prefix("| `") else {
            continue;
        };
        let cells: Vec<String> = rest
            .replace("\\|", "\u{0}")
            .split('|')
            .map(|c| c.trim().replace('\u{0}', "|"))
            .collect();
        let field = cells[0].trim_end_matches('`').to_string();
        let ty = cells[1].clone();
        schema.get_mut(name).unwrap().push((field, ty));
    }
    schema
}

/// Checks `v` against a documented type; returns the problems found.
pub fn check_type(v: &Value, ty: &str, schema: &Schema, at: &str, problems: &mut Vec<String>) {
    if let Some(inner) = ty.strip_suffix("|null") {
        if v.is_null() {
            return;
        }
        return check_type(v, inner, schema, at, problems);
    }
    let ok = match ty {
        "number" => v.is_number(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        _ => {
            if let Some(elem) = ty.strip_prefix("array<").and_then(|t| t.strip_suffix('>')) {
                match v.as_array() {
                    Some(items) => {
                        for (i, item) in items.iter().enumerate() {
                            check_type(item, elem, schema, &format!("{at}[{i}]"), problems);
                        }
                        true
                    }
                    None => false,
                }
            } else if let Some(obj) = ty.strip_prefix("object<").and_then(|t| t.strip_suffix('>')) {
                check_object(v, obj, schema, at, problems);
                true
            } else {
                problems.push(format!("{at}: undocumented type {ty}"));
                true
            }
        }
    };
    if !ok {
        problems.push(format!("{at}: expected {ty}, got {v}"));
    }
}

pub fn check_object(v: &Value, name: &str, schema: &Schema, at: &str, problems: &mut Vec<String>) {
    let Some(fields) = schema.get(name) else {
        problems.push(format!("{at}: object `{name}` is not documented"));
        return;
    };
    let Some(map) = v.as_object() else {
        problems.push(format!("{at}: expected object {name}, got {v}"));
        return;
    };
    for key in map.keys() {
        if !fields.iter().any(|(f, _)| f == key) {
            problems.push(format!("{at}.{key}: not documented in `{name}`"));
        }
    }
    for (field, ty) in fields {
        match map.get(field) {
            Some(value) => check_type(value, ty, schema, &format!("{at}.{field}"), problems),
            None => problems.push(format!("{at}.{field}: missing")),
        }
    }
}

/// Parses one document and checks it against the schema of its view.
pub fn parse_checked(line: &str, schema: &Schema) -> Value {
    let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    let view = v["view"]
        .as_str()
        .expect("view names its schema")
        .to_string();
    let mut problems = Vec::new();
    check_object(&v, &view, schema, &view, &mut problems);
    problems.truncate(20);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    v
}
