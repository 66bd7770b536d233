//! Container id rules: ids become directory names under --root, so they must be plain names.

use thiserror::Error;

/// Longer ids cannot be a directory name on common filesystems.
const MAX_ID_LEN: usize = 1024;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum IdError {
    #[error("container id is empty")]
    Empty,
    #[error("container id {0:?} is longer than {MAX_ID_LEN} bytes")]
    TooLong(String),
    #[error("invalid container id {0:?}: only letters, digits, '_', '+', '-' and '.' are allowed, and not \".\" or \"..\"")]
    Invalid(String),
}

/// Accepts what runc accepts: [A-Za-z0-9_+.-]+, never "." or "..".
pub fn validate(id: &str) -> Result<(), IdError> {
    if id.is_empty() {
        return Err(IdError::Empty);
    }
    if id.len() > MAX_ID_LEN {
        return Err(IdError::TooLong(id.chars().take(64).collect()));
    }
    let ok_chars = id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-' | b'.'));
    if !ok_chars || id == "." || id == ".." {
        return Err(IdError::Invalid(id.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_ids() {
        for id in ["a", "abc-123", "x.y_z+1", &"f".repeat(64)] {
            assert_eq!(validate(id), Ok(()), "{id}");
        }
    }

    #[test]
    fn rejects_hostile_ids() {
        assert_eq!(validate(""), Err(IdError::Empty));
        for id in ["a/b", "..", ".", "../x", "a b", "a\0b", "/abs"] {
            assert!(matches!(validate(id), Err(IdError::Invalid(_))), "{id:?}");
        }
        assert!(matches!(
            validate(&"a".repeat(2000)),
            Err(IdError::TooLong(_))
        ));
    }
}
