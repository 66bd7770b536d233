//! Human output: `list`'s table, aligned like runc's (cells padded by 3, at least 12 wide).

use serde_json::Value;

fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

pub fn list_table(states: &[Value]) -> String {
    let header = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"];
    let keys = ["id", "pid", "status", "bundle", "created", "owner"];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for s in states {
        rows.push(keys.iter().map(|k| cell(&s[*k])).collect());
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].len() + 3)
                .max()
                .unwrap_or(0)
                .max(12)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let last = r.len() - 1;
        for (c, text) in r.iter().enumerate() {
            if c == last {
                out.push_str(text);
            } else {
                out.push_str(&format!("{text:<w$}", w = widths[c]));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns() {
        let t = list_table(&[
            serde_json::json!({"id": "a", "pid": 42, "status": "running", "bundle": "/b", "created": "t", "owner": "root"}),
        ]);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("ID          PID         STATUS"));
        assert!(lines[1].starts_with("a           42          running"));
        assert!(lines[1].ends_with("root"));
    }
}
