//! The OCI state document (runtime-spec "state"): the one builder for `state`, `list`, the
//! state hooks read on stdin and the one a seccomp agent receives.

use super::{Saved, Status};

impl Saved {
    /// The state as of `status`, with `pid` (0 once stopped), plus what runc also prints.
    pub fn oci_state(&self, status: Status, pid: i32) -> serde_json::Value {
        serde_json::json!({
            "ociVersion": self.oci_version,
            "id": self.id,
            "status": status,
            "pid": pid,
            "bundle": self.bundle,
            "rootfs": self.rootfs,
            "created": self.created,
            "owner": self.owner,
            "annotations": self.annotations,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_every_field_the_spec_requires() {
        let s: Saved = serde_json::from_value(serde_json::json!({
            "ociVersion": "1.3.0", "id": "c1", "status": "created", "pid": 7, "start_time": 1,
            "bundle": "/b", "rootfs": "/b/rootfs", "created": "now",
            "annotations": {"a": "b"}
        }))
        .unwrap();
        let v = s.oci_state(Status::Running, 7);
        let back: oci_spec::runtime::State = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(back.id(), "c1");
        assert_eq!(v["status"], "running");
        assert_eq!(v["pid"], 7);
        assert_eq!(v["annotations"]["a"], "b");
    }
}
